"""Reading amounts, the fee schedule, and fee answers priced by the kind of case a
question describes. The schedule is computed here again, independently of court/reference/fees.py."""
from decimal import ROUND_HALF_UP, Decimal

import pytest

from court.core.errors import ValidationError
from court.reference import legal
from court.reference.fees import (
    FeeEstimate,
    acceptance_fee,
    answer,
    classify,
    divorce_fee,
    divorce_property_surcharge,
    estimate,
    fee_rules,
    format_yuan,
    parse_amount,
    personality_fee,
    render_estimate,
)


@pytest.mark.parametrize("text, expected", [
    ("标的十万", 100000),
    ("3万块", 30000),
    ("五千元", 5000),
    ("三万五", 35000),
    ("两万八", 28000),
    ("1.5万", 15000),
    ("十二万三千", 123000),
    ("300000元", 300000),
    ("八千多", 8000),
    ("欠我2万3", 23000),
    ("一百二十万", 1200000),
    ("10w", 100000),
    ("5k", 5000),
    ("二十万块钱", 200000),
    # real phrasings
    ("他借了我五万块钱一直不还", 50000),
    ("老板欠我工资8000元", 8000),
    ("邻居家漏水把我家泡了，损失大概两万", 20000),
    ("标的额大概是十五万左右", 150000),
    ("金额：300,000元", 300000),
    ("欠款12万元整", 120000),
    ("对方要赔我3万5千", 35000),
    ("撞车了修车花了1万2", 12000),
    ("十多万吧", 100000),
    ("差不多2.5万元", 25000),
    ("１０万", 100000),  # full-width digits from a phone keyboard
    ("一万来块", 10000),
    ("三点五万", 35000),
    ("10W", 100000),
    ("1.5w", 15000),
    ("房租拖了4500", 4500),
    ("大概5000吧", 5000),
    ("300000", 300000),  # the whole reply to "多少钱？"
    ("我今年70岁，他欠我3万块，拖了2年了", 30000),
    ("借了5万，还了2万，还欠3万", 30000),  # what is still owed is the dispute
    ("2026年3月借给他两万", 20000),
    ("我电话13945612378，他欠我八千", 8000),
    ("下午3点在他家，他说赔我五千", 5000),
    ("两个孩子的抚养费一个月1500元", 1500),
    ("他借了我三万二一直不还", 32000),  # 一直 is a word, not a digit of the amount
    ("房租两万八一个月", 28000),
    ("十万零五百", 100500),
    ("3.2万", 32000),
])
def test_amounts(text, expected):
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize("text", [
    "13945612378",               # phone
    "139 4561 2378",
    "139-4561-2378",
    "我的电话是13945612378",
    "12月3号",                    # dates and times
    "下午3点",
    "下午三点",
    "10:30",
    "2026年",
    "2026-12-03",
    "12/3",
    "明天上午9点半",
    "70岁",                       # ages
    "我爸七十多岁了",
    "3年",                        # durations
    "两个月",
    "拖了三个多月",
    "2个孩子",                    # counts
    "吵了3次",
    "家里3口人",
    "住5楼",
    "两块地",
    "一块儿去调解",
    "千万别告诉他",
    "万一他不还怎么办",
    "他打了我",
    "1",                         # a menu choice, not a sum
    "三四万",                     # a vague range
    "0元",
    "",
    "   ",
])
def test_not_amounts(text):
    assert parse_amount(text) is None


def test_none_input():
    assert parse_amount(None) is None  # type: ignore[arg-type]


@pytest.mark.parametrize("amount, fee", [
    (100000, 2300),
    (10000, 50),
    (200000, 4300),
    (500000, 8800),
    (1, 50),
    (5000, 50),
    (20000, 300),
    (1000000, 13800),
    (30000000, 191800),
])
def test_acceptance_fee_worked_checks(amount, fee):
    assert acceptance_fee(Decimal(amount)) == Decimal(fee)


def test_fee_is_rounded_to_cents():
    assert acceptance_fee(Decimal(10001)) == Decimal("50.03")


@pytest.mark.parametrize("bad", [0, -1, Decimal("-500"), "abc", Decimal("NaN")])
def test_fee_refuses_non_positive(bad):
    with pytest.raises(ValidationError) as err:
        acceptance_fee(bad)
    assert "金额" in err.value.message


def test_brackets_come_from_yaml():
    brackets = fee_rules()["property_case_brackets"]
    assert brackets[0]["flat"] == 50 and brackets[-1]["upto"] is None


@pytest.mark.parametrize("amount", [1, 9999, 10001, 32000, 100500, 200800, 999999, 1250000, 30000000, 123456789])
def test_fee_matches_the_schedule_written_out_by_hand(amount):
    assert acceptance_fee(Decimal(amount)) == _property_fee(Decimal(amount))


def test_estimate_halves():
    est = estimate(Decimal(100000))
    assert est == FeeEstimate(amount=Decimal(100000), fee=Decimal(2300), halved_fee=Decimal(1150))


def test_divorce_surcharge():
    assert divorce_property_surcharge(Decimal(500000)) == Decimal(1500)
    assert divorce_property_surcharge(Decimal(150000)) == 0
    assert divorce_fee(Decimal(300000)) == (Decimal(550), Decimal(800))
    assert divorce_fee() == (Decimal(50), Decimal(300))


def test_personality_tiers():
    assert personality_fee(Decimal(30000)) == (Decimal(100), Decimal(500))
    assert personality_fee(Decimal(80000)) == (Decimal(400), Decimal(800))
    assert personality_fee(Decimal(150000)) == (Decimal(850), Decimal(1250))


def test_format_yuan():
    assert format_yuan(Decimal(5000)) == "5000元"
    assert format_yuan(Decimal(100000)) == "10万元"
    assert format_yuan(Decimal(123000)) == "12.3万元"
    assert format_yuan(Decimal("1162.5")) == "1162.5元"



# --- the schedule again, from 诉讼费用交纳办法 art. 13, written out by hand ---------

def _property_fee(x: Decimal) -> Decimal:
    steps = [(10000, None), (100000, "0.025"), (200000, "0.02"), (500000, "0.015"), (1000000, "0.01"),
             (2000000, "0.009"), (5000000, "0.008"), (10000000, "0.007"), (20000000, "0.006"), (None, "0.005")]
    fee, lower = Decimal(50), Decimal(10000)  # up to 10,000: 50 a case
    for upper, rate in steps[1:]:
        top = x if upper is None else min(x, Decimal(upper))
        if top > lower:
            fee += (top - lower) * Decimal(rate)
        lower = Decimal(upper) if upper else lower
    return fee.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _divorce(split: Decimal) -> tuple[Decimal, Decimal]:
    extra = max(split - 200000, Decimal(0)) * Decimal("0.005")
    return Decimal(50) + extra, Decimal(300) + extra


def _personality(damages: Decimal) -> tuple[Decimal, Decimal]:
    extra = (min(max(damages - 50000, Decimal(0)), Decimal(50000)) * Decimal("0.01")
             + max(damages - 100000, Decimal(0)) * Decimal("0.005"))
    return Decimal(100) + extra, Decimal(500) + extra


def _yuan(v: Decimal) -> str:
    v = Decimal(v)
    if v >= 10000:
        return f"{(v / 10000).normalize():f}万元"
    return f"{v.normalize():f}元"


def _plain(v: Decimal) -> str:
    return _yuan(v).removesuffix("元")


# (question, the conversation's dispute type, the kind of case, the amount in it)
FEE_QUESTIONS = [
    # property cases, the amount in words or digits
    ("他借了我三万二一直不还，起诉要交多少诉讼费", None, "property", 32000),
    ("借给他3.2万，打官司多少钱", None, "property", 32000),
    ("欠款32000元，诉讼费多少", None, "property", 32000),
    ("货款十万零五百，起诉要交多少钱", None, "property", 100500),
    ("标的十万打官司要多少钱", None, "property", 100000),
    ("他欠我五千块，告他要多少钱", "debt", "property", 5000),
    ("标的额一百二十万，诉讼费怎么算", None, "property", 1200000),
    ("欠我1,250,000元，起诉费用多少", None, "property", 1250000),
    ("邻居家漏水损失两万八，起诉得交多少", "neighbor", "property", 28000),
    ("撞车修车花了1万2，要他赔，诉讼费多少", "traffic", "property", 12000),
    ("房租押金4500没退，起诉要多少钱", "housing", "property", 4500),
    ("标的三千万的官司诉讼费多少", None, "property", 30000000),
    ("二十万零八百元的工程款，诉讼费多少", "contract", "property", 200800),
    ("欠我10w，起诉多少钱", None, "property", 100000),
    # labour disputes after arbitration: 10 yuan whatever the amount
    ("欠我工钱32000元，仲裁完了还得起诉，这回诉讼费多少", None, "labor", 32000),
    ("公司拖欠工资八千，起诉要交多少诉讼费", "debt", "labor", 8000),
    ("被辞退要经济补偿五万，仲裁裁决不服起诉要多少钱", None, "labor", 50000),
    ("老板欠薪3万5，告他多少钱", None, "labor", 35000),
    ("标的十万打官司要多少钱", "labor", "labor", 100000),
    # divorce: a range per case plus 0.5% of the property split above 200,000
    ("离婚分财产300000元，诉讼费多少", None, "divorce", 300000),
    ("起诉离婚要交多少钱", None, "divorce", None),
    ("离婚要分房子，一共五十万，诉讼费怎么算", None, "divorce", 500000),
    ("离婚的话财产十五万，诉讼费多少", None, "divorce", 150000),
    ("要是离婚分财产三十万，诉讼费多少", "debt", "divorce", 300000),
    # personality rights
    ("他造谣毁我名誉，要他赔八万，诉讼费多少", None, "personality", 80000),
    ("在网上侮辱我、侵犯我隐私，要赔偿十五万，起诉多少钱", "other", "personality", 150000),
    ("用我照片做广告侵犯肖像权，要赔3万，诉讼费多少", None, "personality", 30000),
    # maintenance: exemption on application (art. 45)
    ("要我儿子给赡养费，一共要五万，诉讼费多少", "family", "maintenance", 50000),
    ("两个孩子的抚养费一个月1500元，起诉要多少钱", None, "maintenance", 1500),
    ("离婚后前夫不给抚养费，要两万四，起诉多少钱", None, "maintenance", 24000),
    ("老人起诉要扶养费三万六，诉讼费多少", None, "maintenance", 36000),
    # administrative
    ("告政府要交多少诉讼费", None, "administrative", None),
    # the kind cannot be told: ask
    ("干活的工钱三万二没给，起诉多少钱", None, None, 32000),
    ("打官司要交多少钱", "family", None, None),
    ("离婚还要告他诽谤，要赔十万，诉讼费多少", None, None, 100000),
    ("诉讼费多少，大概二十万", "family", None, 200000),
]
ASKED = {
    "干活的工钱三万二没给，起诉多少钱": ["labor", "property"],
    "打官司要交多少钱": ["divorce", "maintenance", "property"],
    "离婚还要告他诽谤，要赔十万，诉讼费多少": ["divorce", "personality"],
    "诉讼费多少，大概二十万": ["divorce", "maintenance", "property"],
}


def _expected(kind: str, amount, question: str) -> list[str]:
    a = None if amount is None else Decimal(amount)
    if kind == "property":
        fee = _property_fee(a)
        return [f"争议金额{_yuan(a)}", f"受理费约{_yuan(fee)}", f"减半，约{_yuan(fee / 2)}", "败诉的一方负担"]
    if kind == "labor":
        return ["每件10元", "劳动仲裁不收费", "不预交"]
    if kind == "divorce":
        low, high = _divorce(a if a is not None else Decimal(0))
        lines = ["每件交50至300元", "协商负担"]
        return lines + ([f"受理费约{_plain(low)}至{_yuan(high)}"] if a is not None else [])
    if kind == "personality":
        low, high = _personality(a)
        return ["每件交100至500元", f"受理费约{_plain(low)}至{_yuan(high)}", "败诉的一方负担"]
    if kind == "maintenance":
        lines = ["申请免交诉讼费", "法律援助"]
        if "月" in question:
            return lines + ["按请求的总金额计算"]
        return lines + [f"按请求的金额{_yuan(a)}计算，受理费约{_yuan(_property_fee(a))}"]
    assert kind == "administrative"
    return ["每件交50元", "行政复议不收费"]


def test_there_are_enough_fee_questions():
    assert len(FEE_QUESTIONS) >= 30
    assert {k for _, _, k, _ in FEE_QUESTIONS} == {"property", "labor", "divorce", "personality", "maintenance",
                                                    "administrative", None}


@pytest.mark.parametrize("question, slot, kind, amount", FEE_QUESTIONS)
def test_fee_questions_are_priced_by_the_kind_of_case(question, slot, kind, amount):
    if amount is not None:
        assert parse_amount(question) == Decimal(amount)
    reply = answer(question, slot)
    assert reply.kind == kind
    assert legal.audit(reply.text) == []
    if kind is None:
        assert "哪一类" in reply.text and [k for _, k in reply.buttons] == ASKED[question]
        return
    for expected in _expected(kind, amount, question):
        assert expected in reply.text, (expected, reply.text)
    if kind != "property" and amount is not None:
        # never priced as a property case of that amount
        assert f"受理费约{_yuan(_property_fee(Decimal(amount)))}" not in reply.text or kind == "maintenance"
    assert "12368" in reply.text and "法律意见" in reply.text
    assert len(reply.text) < 520


@pytest.mark.parametrize("question, slot, choice, expected", [
    ("干活的工钱三万二没给，起诉多少钱", None, "labor", "每件10元"),
    ("干活的工钱三万二没给，起诉多少钱", None, "property", "受理费约600元"),
    ("诉讼费多少，大概二十万", "family", "divorce", "受理费约50至300元"),
    ("诉讼费多少，大概二十万", "family", "maintenance", "受理费约4300元"),
    ("离婚还要告他诽谤，要赔十万，诉讼费多少", None, "personality", "受理费约600至1000元"),
])
def test_a_kind_button_answers_the_question_asked(question, slot, choice, expected):
    reply = answer(question, slot, kind=choice)
    assert reply.kind == choice and expected in reply.text and not reply.buttons


def test_the_issue_examples():
    labour = answer("欠我工钱32000元，仲裁完了还得起诉，这回诉讼费多少").text
    assert "每件10元" in labour and "600元" not in labour
    divorce = answer("离婚分财产300000元，诉讼费多少").text
    assert "550至800元" in divorce and "5800" not in divorce


def test_words_of_the_question_win_over_the_conversation():
    assert classify("离婚分财产三十万", "debt") == ("divorce", ())
    assert classify("标的十万", "labor") == ("labor", ())
    assert classify("标的十万", "family") == (None, ("divorce", "maintenance", "property"))
    assert classify("离婚后要抚养费两万", None) == ("maintenance", ())
    assert classify("离婚要孩子抚养费", None) == ("divorce", ())
    assert classify("帮工的工钱三千", None) == ("property", ())


def test_render_asks_for_the_amount_of_a_property_case():
    text = render_estimate(None, "property")
    assert "金额" in text and "“标的十万”" in text and "12368" in text
    assert "人民调解不收费" in text


def test_render_accepts_a_dispute_type_for_the_kind():
    assert "每件10元" in render_estimate(Decimal(30000), "dispute_labor")
    assert "2300" not in render_estimate(Decimal(100000), "labour")
    assert "2300元" in render_estimate(Decimal(100000), "debt")


def test_render_refuses_bad_amount():
    with pytest.raises(ValidationError):
        render_estimate(Decimal(0), "property")
