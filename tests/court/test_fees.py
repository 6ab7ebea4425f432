from decimal import Decimal

import pytest

from court.errors import ValidationError
from court.fees import (
    FeeEstimate,
    acceptance_fee,
    divorce_property_surcharge,
    estimate,
    fee_rules,
    format_yuan,
    parse_amount,
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


def test_estimate_halves():
    est = estimate(Decimal(100000))
    assert est == FeeEstimate(amount=Decimal(100000), fee=Decimal(2300), halved_fee=Decimal(1150))


def test_divorce_surcharge():
    assert divorce_property_surcharge(Decimal(500000)) == Decimal(1500)
    assert divorce_property_surcharge(Decimal(150000)) == 0


def test_format_yuan():
    assert format_yuan(Decimal(5000)) == "5000元"
    assert format_yuan(Decimal(100000)) == "10万元"
    assert format_yuan(Decimal(123000)) == "12.3万元"
    assert format_yuan(Decimal("1162.5")) == "1162.5元"


def _common(text):
    assert "《诉讼费用交纳办法》" in text
    assert "12368" in text
    assert "法律意见" in text
    assert "缓交" in text and "免交" in text
    assert "保全" in text and "鉴定" in text and "律师" in text


def test_render_property_estimate():
    text = render_estimate(Decimal(100000), "debt")
    _common(text)
    assert "10万元" in text and "2300元" in text and "1150元" in text
    assert "减半" in text and "简易程序" in text
    assert "人民调解不收费" in text and "司法确认" in text
    assert len(text) < 400


def test_render_without_type():
    text = render_estimate(Decimal(5000), None)
    _common(text)
    assert "50元" in text


def test_render_asks_for_amount():
    text = render_estimate(None, "debt")
    assert "金额" in text and "“标的十万”" in text and "12368" in text
    assert "人民调解不收费" in text


@pytest.mark.parametrize("dispute_type", ["labor", "dispute_labor", "labour"])
def test_render_labour(dispute_type):
    text = render_estimate(Decimal(30000), dispute_type)
    _common(text)
    assert "仲裁" in text and "不收费" in text and "10元" in text
    assert "2300" not in text


def test_render_labour_needs_no_amount():
    text = render_estimate(None, "labor")
    assert "10元" in text and "请告诉我" not in text


def test_render_divorce():
    text = render_estimate(None, "family")
    _common(text)
    assert "50至300元" in text and "20万元" in text and "0.5%" in text
    with_amount = render_estimate(Decimal(500000), "family")
    assert "1500元" in with_amount and "8800元" in with_amount


def test_render_refuses_bad_amount():
    with pytest.raises(ValidationError):
        render_estimate(Decimal(0), "debt")
