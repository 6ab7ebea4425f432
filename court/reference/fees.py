"""Litigation fee estimates: the disputed amount in a resident's words, the kind
of case the question describes, and the case acceptance fee under 诉讼费用交纳办法
(amounts in data/litigation_fees.yaml; the sentences are statements fees.* of
data/legal_statements.yaml, with their articles)."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Optional, Union

import cn2an
import yaml

from court.core.errors import ValidationError
from court.core.settings import DATA_DIR
from court.reference.legal import say, sources

FEES_FILE = DATA_DIR / "litigation_fees.yaml"

CENT = Decimal("0.01")
TEN_THOUSAND = Decimal(10000)

Number = Union[Decimal, int, float, str]

# --- reading an amount ------------------------------------------------------

_CN_DIGITS = "零〇一二两三四五六七八九十壹贰叁肆伍陆柒捌玖拾"
_CN_UNITS = "百千万亿佰仟萬"
_CN_TO_ARABIC = str.maketrans("零〇一二两三四五六七八九壹贰叁肆伍陆柒捌玖", "001223456789123456789")

# A number: digits or Chinese numerals, joined by magnitude units ("2万3",
# "十二万三千"). Arabic digits never touch Chinese digits directly, so
# "5000一个月" yields 5000 rather than a garbled "5000一".
_NUMBER_RE = re.compile(
    rf"(?:[{_CN_DIGITS}]+点[{_CN_DIGITS}]+(?=[万千])"        # 三点五万
    rf"|\d+(?:\.\d+)?|[{_CN_DIGITS}]+)"
    rf"(?:[{_CN_UNITS}]+(?:\d+(?:\.\d+)?|[{_CN_DIGITS}]+)?)*"
    r"(?P<wk>[wWkK](?![a-zA-Z]))?"                           # 10w, 5k
)
_APPROX = r"(?:多|来|余|几)?"
_CURRENCY_AFTER = re.compile(rf"^\s*{_APPROX}\s*(?:块(?![儿地田板砖肉糖])|元|圆|钱|rmb|人民币)", re.I)
# Units that make a number a date, time, age, duration, count or measure.
_NOT_MONEY_AFTER = re.compile(
    rf"^\s*{_APPROX}\s*(?:周岁|岁|年|个|月|号|日|天|点|时|钟头|分|秒|周|星期|礼拜|次|回|趟|遍|人|口|位|名|"
    r"亩|垧|平|㎡|米|公里|里|斤|公斤|吨|克|层|楼|栋|幢|单元|室|户|间|套|辆|台|头|只|条|张|份|本|件|家|"
    r"座|%|％|倍|级|路|期|届|节|页|毛|角|度|瓶|袋|箱|棵|块地|块田|胎|孩|娃|[a-zA-Z])"
)
# Digits glued to date/time punctuation: 10:30, 2026-12-03, 12/3, 2026.12.03.
_SEPARATOR_AFTER = re.compile(r"^\s*[:：\-/.．]\s*\d")
_SEPARATOR_BEFORE = re.compile(r"\d\s*[:：\-/.．]\s*$")
_NOT_MONEY_BEFORE = re.compile(r"(?:第|周|星期|礼拜|电话|手机|号码|尾号|编号|[a-zA-Z])\s*$")
# Words that announce the disputed amount; the stronger ones name it directly.
_STRONG_CUES = re.compile(r"(?:标的|金额|数额|争议|欠|赔)")
_WEAK_CUES = re.compile(r"(?:借|工资|薪|损失|货款|房租|租金|押金|费|款|花了|共|合计|总计|价)")
_BARE_MIN = Decimal(100)
_CLAUSE_BREAK = re.compile(r"[，。,;；!！?？、\n]")
# What may surround a bare number that is the whole reply ("大概5000吧").
_FILLER = re.compile(r"[\s，。,.!！?？~～…]|大概|大约|约|差不多|左右|吧|啊|呀|吗|哦|嗯|就是|是|有|多|来|上下")


@dataclass(frozen=True)
class _Candidate:
    value: Decimal
    score: int
    start: int
    end: int


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"(?<=\d),(?=\d{3}(?!\d))", "", text)   # 300,000
    text = re.sub(r"(?<=\d)\s+(?=\d)", "", text)           # 139 4561 2378 stays one (phone) number
    text = re.sub(rf"(?<=[\d{_CN_DIGITS}])[多几](?=[{_CN_UNITS}])", "", text)  # 十多万 -> 十万 (a floor)
    # 三万二一直不还, 两万八一个月: that 一 starts the next word, not the amount
    text = re.sub(r"(?<=[万千百][零一二两三四五六七八九])(?=一(?:直|个|共|下|次|起|定|样|年|天))", " ", text)
    return text


def _to_decimal(token: str) -> Optional[Decimal]:
    multiplier = Decimal(1)
    if token[-1] in "wW":
        token, multiplier = token[:-1], TEN_THOUSAND
    elif token[-1] in "kK":
        token, multiplier = token[:-1], Decimal(1000)
    if "点" in token:  # 三点五万 -> 3.5万
        token = token.translate(_CN_TO_ARABIC).replace("点", ".")
    if re.fullmatch(r"\d+(?:\.\d+)?", token):
        value = Decimal(token)
    else:
        try:
            value = Decimal(str(cn2an.cn2an(token, "smart")))
        except (ValueError, KeyError, IndexError, TypeError, InvalidOperation):
            return None  # e.g. 三四万: a vague range, not an amount
    return (value * multiplier).quantize(CENT, rounding=ROUND_HALF_UP)


def _candidates(text: str) -> list[_Candidate]:
    found: list[_Candidate] = []
    for match in _NUMBER_RE.finditer(text):
        token = match.group(0)
        before, after = text[: match.start()], text[match.end():]
        digits = re.sub(r"\D", "", token)
        if len(digits) >= 11:  # phone, ID or account number, never an amount
            continue
        if _NOT_MONEY_BEFORE.search(before) or _SEPARATOR_BEFORE.search(before) or _SEPARATOR_AFTER.match(after):
            continue
        currency = bool(match.group("wk")) or bool(_CURRENCY_AFTER.match(after))
        if not currency and _NOT_MONEY_AFTER.match(after):
            continue
        value = _to_decimal(token)
        if value is None or value <= 0:
            continue
        clause = _CLAUSE_BREAK.split(before[-8:])[-1]
        cue = 3 if _STRONG_CUES.search(clause) else 2 if _WEAK_CUES.search(clause) else 0
        magnitude = any(unit in token for unit in _CN_UNITS)
        score = cue + (2 if currency else 0) + (1 if magnitude else 0)
        if score == 0:
            # A bare number counts only as the whole reply; not a menu choice ("1") or a landline.
            rest = _FILLER.sub("", before + after)
            if rest or value < _BARE_MIN or len(digits) >= 7:
                continue
            score = 1
        found.append(_Candidate(value, score, match.start(), match.end()))
    return found


def parse_amount(text: str) -> Optional[Decimal]:
    """The disputed amount of money in a resident's message, in yuan, or None.

    Prefers a number with a money unit or right after 标的/金额/欠/借/赔; ignores
    phone numbers, dates, times, ages, durations and counts.
    """
    if not text or not str(text).strip():
        return None
    found = _candidates(_normalise(str(text)))
    if not found:
        return None
    best = max(found, key=lambda c: (c.score, -c.start))  # ties: the first mentioned
    return _plain(best.value)


def _plain(value: Decimal) -> Decimal:
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.quantize(CENT)


# --- the fee -----------------------------------------------------------------


@lru_cache(maxsize=1)
def fee_rules() -> dict[str, Any]:
    with FEES_FILE.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _as_amount(amount: Number) -> Decimal:
    try:
        value = amount if isinstance(amount, Decimal) else Decimal(str(amount))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError("金额格式不对，请输入一个数字，例如“10万”或“5000元”。") from exc
    if not value.is_finite() or value <= 0:
        raise ValidationError("争议金额要大于0元，请重新输入。")
    return value


def _money(value: Decimal) -> Decimal:
    return _plain(value.quantize(CENT, rounding=ROUND_HALF_UP))


def acceptance_fee(amount: Number) -> Decimal:
    """Acceptance fee of a property case: cumulative brackets (办法 art. 13(一))."""
    value = _as_amount(amount)
    fee = Decimal(0)
    lower = Decimal(0)
    for bracket in fee_rules()["property_case_brackets"]:
        upper = None if bracket.get("upto") is None else Decimal(str(bracket["upto"]))
        if value <= lower:
            break
        if "flat" in bracket:
            fee += Decimal(str(bracket["flat"]))
        else:
            top = value if upper is None else min(value, upper)
            fee += (top - lower) * Decimal(str(bracket["rate"]))
        if upper is None:
            break
        lower = upper
    return _money(fee)


def halved(fee: Decimal) -> Decimal:
    """Court mediation, withdrawal or simple procedure (办法 arts. 15, 16)."""
    return _money(fee * Decimal(str(fee_rules()["halving_factor"])))


@dataclass(frozen=True)
class FeeEstimate:
    amount: Decimal
    fee: Decimal
    halved_fee: Decimal  # court mediation, withdrawal or simple procedure (办法 arts. 15, 16)


def estimate(amount: Number) -> FeeEstimate:
    value = _as_amount(amount)
    fee = acceptance_fee(value)
    return FeeEstimate(amount=value, fee=fee, halved_fee=halved(fee))


def _range(key: str) -> tuple[Decimal, Decimal]:
    low, high = fee_rules()[key]["per_case"]
    return Decimal(str(low)), Decimal(str(high))


def divorce_property_surcharge(amount: Number) -> Decimal:
    """Extra fee when a divorce splits more than 200,000 yuan: 0.5% of the excess (art. 13(二)1)."""
    rules = fee_rules()["divorce"]
    excess = _as_amount(amount) - Decimal(str(rules["property_free_upto"]))
    return _money(excess * Decimal(str(rules["rate_above"]))) if excess > 0 else Decimal(0)


def divorce_fee(property_split: Optional[Number] = None) -> tuple[Decimal, Decimal]:
    """The range of a divorce case's fee, with the surcharge on the property split."""
    low, high = _range("divorce")
    extra = divorce_property_surcharge(property_split) if property_split is not None else Decimal(0)
    return low + extra, high + extra


def personality_damages_surcharge(damages: Number) -> Decimal:
    """Personality rights: tiers of the damages claimed above 50,000 (art. 13(二)2)."""
    value = _as_amount(damages)
    extra = Decimal(0)
    for tier in fee_rules()["personality_rights"]["damages_tiers"]:
        above = Decimal(str(tier["above"]))
        top = value if tier.get("upto") is None else min(value, Decimal(str(tier["upto"])))
        if top > above:
            extra += (top - above) * Decimal(str(tier["rate"]))
    return _money(extra)


def personality_fee(damages: Optional[Number] = None) -> tuple[Decimal, Decimal]:
    low, high = _range("personality_rights")
    extra = personality_damages_surcharge(damages) if damages is not None else Decimal(0)
    return low + extra, high + extra


def labor_fee() -> Decimal:
    """A labour dispute taken to court after arbitration: per case (art. 13(四))."""
    return Decimal(str(fee_rules()["labor_dispute"]["per_case"]))


def administrative_fee() -> Decimal:
    return Decimal(str(fee_rules()["administrative"]["per_case"]))


# --- the kind of case a fee question describes -----------------------------------

FEE_KINDS = ("property", "divorce", "labor", "personality", "maintenance", "administrative")
KIND_TITLES = {
    "property": "借款、赔偿等财产纠纷",
    "divorce": "离婚",
    "labor": "和单位的劳动争议",
    "personality": "名誉、肖像、隐私等人格权",
    "maintenance": "赡养费、抚养费、扶养费",
    "administrative": "告行政机关",
}
# The words that name the kind of case, whatever the conversation was about before.
_CUES = {
    "divorce": re.compile(r"离婚|离了婚"),
    "maintenance": re.compile(r"赡养|抚养费|扶养费|抚育费|养老钱"),
    "labor": re.compile(r"工资|欠薪|薪水|加班费|经济补偿|赔偿金.*(?:单位|公司|厂)|劳动合同|劳动仲裁|劳动争议|"
                        r"辞退|开除|工伤|社保|仲裁完|仲裁裁决|仲裁了"),
    "personality": re.compile(r"名誉|肖像|隐私|姓名权|名称权|荣誉权|人格权|诽谤|造谣|污蔑|侮辱我|个人信息"),
    "administrative": re.compile(r"行政诉讼|行政案件|告政府|民告官|告(?:县|市|区|乡|镇)政府|告.{0,4}局"),
}
# 工钱 may be a labour dispute with an employer or a private helper's pay: ask.
_WAGES_ONLY = re.compile(r"工钱|干活的钱|活钱|劳务费")
_EMPLOYER = re.compile(r"单位|公司|厂|企业|劳动|仲裁|老板")
_PRIVATE_HELP = re.compile(r"劳务|帮工|雇工|个人雇|家政|保姆")
_AFTER_DIVORCE = re.compile(r"离婚后|离了婚|已经离婚|离完婚|离婚以后|离婚好几年")
_MONTHLY = re.compile(r"(?:每|一)个?月[^，。；]{0,4}[\d一二两三四五六七八九十百千万]|[\d万千百元块钱]\s*(?:一|每)个?月")


def _dispute_key(dispute_type: Optional[str]) -> Optional[str]:
    if not dispute_type:
        return None
    key = dispute_type.strip().lower().removeprefix("dispute_")
    return "labor" if key == "labour" else key


def classify(text: str, dispute_type: Optional[str] = None) -> tuple[Optional[str], tuple[str, ...]]:
    """The kind of case a fee question describes: (kind, ()) or (None, kinds to ask about).

    The words of the question decide before the conversation's dispute type does."""
    text = text or ""
    kinds = {k for k, cue in _CUES.items() if cue.search(text)}
    if {"divorce", "maintenance"} <= kinds:  # 抚养费 inside a divorce is part of the divorce case
        kinds.discard("divorce" if _AFTER_DIVORCE.search(text) else "maintenance")
    if "labor" not in kinds and _WAGES_ONLY.search(text):
        if _PRIVATE_HELP.search(text):
            kinds.add("property")
        elif _EMPLOYER.search(text):
            kinds.add("labor")
        elif not kinds:
            return None, ("labor", "property")
    if len(kinds) == 1:
        return kinds.pop(), ()
    if kinds:
        return None, tuple(k for k in FEE_KINDS if k in kinds)
    key = _dispute_key(dispute_type)
    if key == "labor":
        return "labor", ()
    if key == "family":
        return None, ("divorce", "maintenance", "property")
    return "property", ()


# --- the answer a resident reads -------------------------------------------------


def format_yuan(value: Decimal) -> str:
    """5000元, 2300元, 1162.5元, 10万元, 12.3万元."""
    value = Decimal(value)
    if value >= TEN_THOUSAND:
        wan = (value / TEN_THOUSAND).quantize(Decimal("0.0001")).normalize()
        return f"{wan:f}万元"
    return f"{_plain(value).normalize():f}元"


def _range_text(low: Decimal, high: Decimal) -> tuple[str, str]:
    return format_yuan(low).removesuffix("元"), format_yuan(high)


_ASK_AMOUNT = "想估算诉讼费，请告诉我争议的金额，例如“标的十万”“欠我3万块”“五千元”。"
_ASK_KIND = "不同案件的诉讼费算法不一样。您要起诉的是哪一类？"
_CLOSING = ("以上按《诉讼费用交纳办法》估算，是一般性信息，不是对您案件的法律意见，"
            "实际以法院交费通知为准。有疑问请拨打12368。")
_HEADINGS = {
    "property": "诉讼费（估算）",
    "divorce": "离婚案件的诉讼费（估算）",
    "labor": "劳动争议的诉讼费（估算）",
    "personality": "人格权案件的诉讼费（估算）",
    "maintenance": "赡养费、抚养费、扶养费案件的诉讼费（估算）",
    "administrative": "行政案件的诉讼费",
}


@dataclass(frozen=True)
class FeeAnswer:
    text: str
    kind: Optional[str] = None
    buttons: tuple[tuple[str, str], ...] = ()  # (title, fee kind) when the kind must be asked


def _lines(kind: str, amount: Optional[Decimal], monthly: bool) -> list[tuple[str, dict[str, Any]]]:
    """The statements (key, fill) of an answer, in order."""
    if kind == "property":
        assert amount is not None
        est = estimate(amount)
        return [("fees.property", {"amount": format_yuan(est.amount), "fee": format_yuan(est.fee)}),
                ("fees.halved_amount", {"half": format_yuan(est.halved_fee)}),
                ("fees.loser_pays", {}), ("fees.free", {}), ("fees.other_costs", {}), ("fees.hardship", {})]
    if kind == "divorce":
        lines: list[tuple[str, dict[str, Any]]] = [("fees.divorce", {})]
        if amount is not None:
            low, high = _range_text(*divorce_fee(amount))
            lines.append(("fees.divorce_amount", {"amount": format_yuan(amount), "low": low, "high": high}))
        return lines + [("fees.halved", {}), ("fees.divorce_burden", {}), ("fees.free", {}), ("fees.hardship", {})]
    if kind == "labor":
        return [("fees.labor", {}), ("fees.labor_no_prepay", {}), ("fees.loser_pays", {}), ("mediation.free", {}),
                ("fees.hardship", {})]
    if kind == "personality":
        lines = [("fees.personality", {})]
        if amount is not None:
            low, high = _range_text(*personality_fee(amount))
            lines.append(("fees.personality_amount", {"amount": format_yuan(amount), "low": low, "high": high}))
        return lines + [("fees.halved", {}), ("fees.loser_pays", {}), ("fees.free", {}), ("fees.hardship", {})]
    if kind == "maintenance":
        lines = [("fees.maintenance_exempt", {})]
        if monthly:
            lines.append(("fees.maintenance_total", {}))
        elif amount is not None:
            lines.append(("fees.maintenance_amount", {"amount": format_yuan(amount),
                                                      "fee": format_yuan(acceptance_fee(amount))}))
        return lines + [("fees.halved", {}), ("fees.loser_pays", {}), ("fees.free", {}), ("legal_aid.maintenance", {})]
    if kind == "administrative":
        return [("fees.administrative", {}), ("fees.loser_pays", {}), ("fees.hardship", {})]
    raise ValueError(f"unknown fee kind: {kind!r}")


def statement_keys() -> set[str]:
    """Every statement a fee answer can use (for the tests)."""
    keys = {"fees.free"}
    for kind in FEE_KINDS:
        for amount, monthly in ((Decimal(300000), False), (Decimal(1500), True), (None, False)):
            if kind != "property" or amount is not None:
                keys |= {key for key, _ in _lines(kind, amount, monthly)}
    return keys


def render_estimate(amount: Optional[Number], kind: Optional[str] = "property", *, monthly: bool = False) -> str:
    """A short answer about court fees for one kind of case, in Chinese."""
    kind = kind or "property"
    if kind not in FEE_KINDS:  # a dispute type: only labour has a fee of its own
        kind = "labor" if _dispute_key(kind) == "labor" else "property"
    value = _as_amount(amount) if amount is not None else None
    if kind == "property" and value is None:
        return "\n".join([_ASK_AMOUNT, "· " + say("fees.free", with_basis=False), "诉讼费问题也可以拨打12368咨询。"])
    lines = _lines(kind, value, monthly)
    text = [_HEADINGS[kind]] + ["· " + say(key, with_basis=False, **fill) for key, fill in lines]
    return "\n".join(text + [sources(key for key, _ in lines), _CLOSING])


def answer(text: str, dispute_type: Optional[str] = None, kind: Optional[str] = None) -> FeeAnswer:
    """The fee answer to a resident's question, priced by the kind of case it describes;
    when the kind cannot be told, a question with one button per kind."""
    if kind not in FEE_KINDS:
        kind, candidates = classify(text, dispute_type)
        if kind is None:
            titles = dict(KIND_TITLES)
            if set(candidates) == {"labor", "property"}:
                titles["property"] = "个人之间雇工、帮工的工钱"
            return FeeAnswer(text=_ASK_KIND, buttons=tuple((titles[k], k) for k in candidates))
    amount = parse_amount(text)
    return FeeAnswer(text=render_estimate(amount, kind, monthly=bool(_MONTHLY.search(text or ""))), kind=kind)
