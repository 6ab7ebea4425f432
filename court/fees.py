"""Litigation fee estimates: the disputed amount in a resident's words, and the
case acceptance fee under 诉讼费用交纳办法 (brackets in data/litigation_fees.yaml)."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, Optional, Union

import cn2an
import yaml

from court.errors import ValidationError
from court.settings import DATA_DIR

FEES_FILE = DATA_DIR / "litigation_fees.yaml"

CENT = Decimal("0.01")
TEN_THOUSAND = Decimal(10000)
LABOR_COURT_FEE = Decimal(10)  # 诉讼费用交纳办法 art. 13(4): per case, whatever the amount

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


def acceptance_fee(amount: Number) -> Decimal:
    """Acceptance fee of a property case: cumulative brackets (办法 art. 13(1))."""
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
    return _plain(fee.quantize(CENT, rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class FeeEstimate:
    amount: Decimal
    fee: Decimal
    halved_fee: Decimal  # court mediation, withdrawal or simple procedure (办法 arts. 15, 16)


def estimate(amount: Number) -> FeeEstimate:
    value = _as_amount(amount)
    fee = acceptance_fee(value)
    return FeeEstimate(amount=value, fee=fee, halved_fee=_plain((fee / 2).quantize(CENT, rounding=ROUND_HALF_UP)))


def divorce_property_surcharge(amount: Number) -> Decimal:
    """Extra fee when a divorce splits more than 200,000 yuan: 0.5% of the excess (art. 13(2))."""
    value = _as_amount(amount)
    excess = value - Decimal(200000)
    if excess <= 0:
        return Decimal(0)
    return _plain((excess * Decimal("0.005")).quantize(CENT, rounding=ROUND_HALF_UP))


# --- the answer a resident reads -------------------------------------------------


def format_yuan(value: Decimal) -> str:
    """5000元, 2300元, 1162.5元, 10万元, 12.3万元."""
    value = Decimal(value)
    if value >= TEN_THOUSAND:
        wan = (value / TEN_THOUSAND).quantize(Decimal("0.0001")).normalize()
        return f"{wan:f}万元"
    return f"{_plain(value).normalize():f}元"


_ASK_AMOUNT = "想估算诉讼费，请告诉我争议的金额，例如“标的十万”“欠我3万块”“五千元”。"
_FREE = "· 人民调解不收费；调解协议申请司法确认，法院也不收案件受理费。"
_HALVED = "· 法院调解结案、撤诉或适用简易程序的，受理费减半。"
_OTHER_COSTS = "· 另外可能有保全申请费、鉴定费、律师费等。"
_HARDSHIP = "· 交费确有困难的，可以申请缓交、减交或免交。"
_CLOSING = ("以上按《诉讼费用交纳办法》估算，是一般性信息，不是对您案件的法律意见，"
            "实际以法院交费通知为准。有疑问请拨打12368。")


def _dispute_key(dispute_type: Optional[str]) -> Optional[str]:
    if not dispute_type:
        return None
    key = dispute_type.strip().lower().removeprefix("dispute_")
    return "labor" if key == "labour" else key


def _labor_lines() -> list[str]:
    return [
        "劳动争议的费用（估算）",
        "· 劳动争议要先申请劳动仲裁，仲裁不收费。",
        f"· 对仲裁结果不服再起诉的，法院案件受理费每件{LABOR_COURT_FEE}元，与金额多少无关。",
        "· 劳动争议调解组织、人民调解都不收费。",
    ]


def _family_lines(amount: Optional[Decimal]) -> list[str]:
    lines = ["婚姻家庭纠纷的费用（估算）", "· 离婚案件每件交50至300元。"]
    if amount is None:
        lines.append("· 离婚时分割的财产超过20万元的，超出部分另按0.5%交。")
        lines.append("· 继承等财产纠纷按争议金额计算，告诉我金额可以帮您估算。")
        return lines
    extra = divorce_property_surcharge(amount)
    if extra > 0:
        lines.append(f"· 分割财产{format_yuan(amount)}，超过20万元的部分另交约{format_yuan(extra)}。")
    else:
        lines.append("· 分割的财产不超过20万元的，不另外加收。")
    est = estimate(amount)
    lines.append(f"· 如果是继承等财产纠纷，按{format_yuan(amount)}计算约{format_yuan(est.fee)}，"
                 f"减半后约{format_yuan(est.halved_fee)}。")
    return lines


def _property_lines(amount: Decimal) -> list[str]:
    est = estimate(amount)
    return [
        "诉讼费（估算）",
        f"争议金额{format_yuan(est.amount)}，起诉时案件受理费约{format_yuan(est.fee)}。",
        f"· 法院调解结案、撤诉或适用简易程序的减半，约{format_yuan(est.halved_fee)}。",
    ]


def render_estimate(amount: Optional[Decimal], dispute_type: Optional[str] = None) -> str:
    """A short answer about court fees for a phone screen, in Chinese."""
    kind = _dispute_key(dispute_type)
    if amount is not None:
        amount = _as_amount(amount)
    if kind == "labor":
        lines = _labor_lines() + [_OTHER_COSTS, _HARDSHIP]
    elif kind == "family":
        lines = _family_lines(amount) + [_HALVED, _FREE, _OTHER_COSTS, _HARDSHIP]
    elif amount is None:
        return "\n".join([_ASK_AMOUNT, _FREE, "诉讼费问题也可以拨打12368咨询。"])
    else:
        lines = _property_lines(amount) + [_FREE, _OTHER_COSTS, _HARDSHIP]
    return "\n".join(lines + [_CLOSING])
