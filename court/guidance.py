"""Guidance cards: which channel handles a dispute first, the rules and time
limits that decide it, judicial confirmation, and what to bring.

Channel names and checklists come from data/dispute_channels.yaml; the
sentences a resident reads are ours, shortened for a phone screen.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from court.settings import DATA_DIR

CHANNELS_FILE = DATA_DIR / "dispute_channels.yaml"

# The dispute intents of the assistant (dispute_<key>); same keys as the yaml.
DISPUTE_TYPES = (
    "family", "neighbor", "labor", "debt", "property_mgmt", "housing", "traffic",
    "consumer", "contract", "land", "medical", "injury", "other",
)
ROUTING_KINDS = ("emergency", "criminal", "administrative")
CARD_LIMIT = 900  # characters; one phone screen and a bit


@dataclass(frozen=True)
class GuidanceCard:
    key: str
    label: str
    first_channel: str
    other_channels: tuple[str, ...]
    rules: tuple[str, ...]  # the yaml's statements with their articles (the source, not what we show)
    judicial_confirmation: str
    bring: tuple[str, ...]


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    with CHANNELS_FILE.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@lru_cache(maxsize=None)
def card(dispute_type: str) -> GuidanceCard:
    types = _data()["types"]
    if dispute_type not in types:
        raise ValueError(f"unknown dispute type: {dispute_type!r}")
    raw = types[dispute_type]
    return GuidanceCard(
        key=dispute_type,
        label=str(raw["label"]),
        first_channel=str(raw["first_channel"]),
        other_channels=tuple(str(c) for c in raw.get("other_channels") or ()),
        rules=tuple(str(r) for r in raw.get("rules") or ()),
        judicial_confirmation=str(raw.get("judicial_confirmation", "")),
        bring=tuple(str(b) for b in raw.get("bring") or ()),
    )


# --- our wording of the rules, shortened ------------------------------------

# Said right after the first channel, where the order of steps matters.
_FIRST_CHANNEL_NOTE = {
    "labor": "注意：起诉前必须先申请劳动仲裁，一般要在1年内申请；调解可以不经过。",
    "land": "调解不成可以申请仲裁，也可以直接起诉，仲裁不是必经程序（农村土地承包经营纠纷调解仲裁法4条）。",
    "traffic": "交警调解要在收到事故认定书10日内由各方共同书面申请。",
}

_KEY_POINTS: dict[str, tuple[str, ...]] = {
    "family": (
        "协议离婚须双方亲自到婚姻登记机关办理，有30天冷静期（民法典1076、1077条）。",
        "起诉离婚的，法院会先做调解（民法典1079条）。",
        "遗产纠纷归被继承人死亡时住所地或主要遗产所在地法院管（民诉法34条）。",
        "老人赡养、住房、财产纠纷，可以申请调解，也可以直接起诉（老年人权益保障法75条）。",
        "要抚养费、赡养费、扶养费，不受诉讼时效限制（民法典196条）。",
    ),
    "neighbor": (
        "通行、排水、采光等相邻问题，按方便生活、公平合理的原则处理（民法典288条）。",
        "可以和解、调解，也可以仲裁或起诉（民法典233条）。",
        "要求停止侵害、排除妨碍、消除危险的，不受诉讼时效限制（民法典196条）。",
    ),
    "labor": (
        "不服仲裁裁决才能起诉（劳动争议调解仲裁法5条）。",
        "仲裁时效1年，从知道权利受侵害起算；在职期间被欠工资不受此限，离职后要在1年内提出（27条）。",
        "劳动仲裁不收费，向合同履行地或单位所在地的仲裁委申请（21、53条）。",
        "欠薪、工伤医疗费、经济补偿的调解协议不履行，可向法院申请支付令（16条）。",
        "只有欠条的欠薪可直接起诉；个人之间雇工帮工不算劳动争议，可直接人民调解。",
    ),
    "debt": (
        "诉讼时效3年（民法典188条）；申请人民调解可以中断时效。",
        "由被告住所地或合同履行地法院管辖（民诉法22、24条）。",
    ),
    "property_mgmt": (
        "街道办、乡镇政府和县级房产主管部门负责指导监督物业管理（物业管理条例19条）。",
        "物业费纠纷按最高法物业服务司法解释处理，供暖纠纷还要看地方供热条例。",
    ),
    "housing": (
        "房屋纠纷由房屋所在地法院专属管辖（民诉法34条）。",
        "诉讼时效一般3年（民法典188条）；申请人民调解可以中断时效。",
    ),
    "traffic": (
        "可以请交警调解赔偿，也可以直接起诉（道路交通安全法74条）。",
        "交警调解期限10日，已起诉的不再调解（实施条例94—96条）。",
        "一般等丧事办完、治疗结束或伤残评定后、损失确定了再调解。",
    ),
    "consumer": (
        "可以协商、找消协调解、向市场监管部门投诉、按约定仲裁或起诉（消保法39条）。",
        "投诉后市场监管部门应在7个工作日内处理并告知您（消保法46条）。",
        "已被法院、仲裁、消协或调解组织受理的，不再受理投诉。",
    ),
    "contract": (
        "合同里有仲裁条款的，先按约定仲裁；也可书面约定管辖法院（民诉法35条）。",
        "诉讼时效一般3年（民法典188条）。",
    ),
    "land": (
        "承包仲裁时效2年、不收费，不服裁决30日内起诉（农村土地承包经营纠纷调解仲裁法18、48、52条）。",
        "征地补偿争议不走承包仲裁，应申请行政复议或行政诉讼（同法2条）。",
        "土地、宅基地权属争议先由政府处理，不服的30日内起诉（土地管理法14条）。",
    ),
    "medical": (
        "可以协商、人民调解、卫健部门行政调解或起诉（医疗纠纷预防和处理条例22条）。",
        "人民调解要双方都同意；已起诉或已行政调解的不再受理（31条）。",
        "行政调解找县级卫健部门，30个工作日内调完（40条）。",
        "患者可以复制病历；发生纠纷时双方在场封存病历和实物。",
    ),
    "injury": (
        "由侵权行为地或被告住所地法院管辖（民诉法29条），诉讼时效3年。",
        "故意伤害达到轻伤以上的可能涉及犯罪，应向公安机关报案。",
    ),
    "other": (
        "诉讼时效一般3年（民法典188条）；申请人民调解可以中断时效。",
        "不清楚该找哪里，可拨打12368诉讼服务热线问清楚。",
    ),
}

# What this kind of agreement can or cannot get confirmed.
_CONFIRMATION_NOTE = {
    "family": "婚姻、亲子、收养等身份关系不能申请司法确认；其中财产分割、抚养费等财产部分可以。",
    "labor": "人民调解组织主持达成的协议可以；劳动争议调解组织的协议按劳动争议调解仲裁法处理"
             "（15日内不履行可申请仲裁，部分可申请支付令）。",
    "housing": "确认房屋归谁所有的协议不能确认（民诉法解释355条）。",
    "land": "确认土地、宅基地归谁的协议不能确认（民诉法解释355条）。",
    "traffic": "人民调解组织主持达成的协议可以申请。",
    "other": "要看协议内容：涉及身份关系或确认财产归谁的不能确认。",
}

_FEE_NOTE = {
    "labor": "劳动仲裁也不收费。",
    "land": "土地承包仲裁也不收费。",
}
_MEDIATION_BASICS = "人民调解免费、自愿，一方不同意不能强迫；调解不成，仍可仲裁或起诉。"

_CONFIRMATION_GENERAL = "调解协议生效后30日内，双方共同向基层法院申请，不收费；确认后对方不履行，可申请强制执行。"
_CLOSING = "以上是一般性信息，不是对您个案的法律意见；有疑问请拨打12368。"


def _confirmation_note(c: GuidanceCard) -> str:
    if c.key in _CONFIRMATION_NOTE:
        return _CONFIRMATION_NOTE[c.key]
    if c.judicial_confirmation.strip() == "可以":
        return "这类调解协议可以申请。"
    return c.judicial_confirmation  # a type added to the yaml without our wording yet


def render_card(dispute_type: str) -> str:
    """A compact guidance card for one dispute type, in Chinese, under CARD_LIMIT characters."""
    c = card(dispute_type)
    first = c.first_channel + "。"
    if c.key in _FIRST_CHANNEL_NOTE:
        first += _FIRST_CHANNEL_NOTE[c.key]
    points = _KEY_POINTS.get(c.key, c.rules)
    lines = [
        f"【{c.label}】",
        f"【首选渠道】{first}",
    ]
    if c.other_channels:
        lines.append("【其他渠道】" + "；".join(c.other_channels))
    lines.append("【规则和时限】")
    lines += [f"· {p}" for p in points]
    lines.append("【调解】" + _MEDIATION_BASICS + _FEE_NOTE.get(c.key, ""))
    lines.append(f"【司法确认】{_CONFIRMATION_GENERAL}{_confirmation_note(c)}")
    lines.append("【需要准备】" + "、".join(c.bring))
    lines.append(_CLOSING)
    return "\n".join(lines)


# --- when mediation is the wrong door --------------------------------------------

_ROUTING_TEXT = {
    "emergency": (
        "如果您或家人正面临危险，请立即拨打110报警。\n"
        "遭受家庭暴力的：\n"
        "· 可以报警，并保留伤情照片、就医记录等证据；\n"
        "· 可以拨打妇联12338热线求助；\n"
        "· 可以向法院申请人身安全保护令。\n"
        "先确保人身安全，其他事情之后再处理。"
    ),
    "criminal": (
        "诈骗、盗窃、故意伤害等涉嫌犯罪的事，请到公安机关（派出所）报案，紧急时拨打110。\n"
        "这类事情不能通过人民调解解决，本服务无法为您预约。\n"
        "涉及民事赔偿的问题，可以拨打12368咨询。"
    ),
    "administrative": (
        "对行政机关的决定（例如罚款、征收补偿、登记）不服的，可以依法申请行政复议，或者向法院提起行政诉讼。\n"
        "这类事情不适用人民调解，本服务无法为您预约。\n"
        "复议和起诉都有期限，请尽早办理；具体可以拨打12368咨询。"
    ),
}


def render_routing(kind: str) -> str:
    """Where to go instead of mediation: "emergency", "criminal" or "administrative"."""
    if kind not in _data().get("routing", {}) or kind not in _ROUTING_TEXT:
        raise ValueError(f"unknown routing kind: {kind!r}")
    return _ROUTING_TEXT[kind]


def render_judicial_confirmation() -> str:
    """What judicial confirmation of a mediation agreement is and how to apply (legal_rules.md)."""
    return "\n".join([
        "【什么是司法确认】",
        "在人民调解委员会等依法设立的调解组织达成调解协议后，双方可以请法院审查确认。"
        "法院确认有效的，会作出裁定；一方不履行，另一方可以直接申请法院强制执行。",
        "【怎么申请】双方当事人共同申请，在调解协议生效之日起30日内提出，一般双方一起到场。",
        "【向哪个法院】法院委派的调解，向该法院申请；其他的，向当事人住所地、标的物所在地"
        "或调解组织所在地的基层人民法院申请。也可以通过“人民法院在线服务”线上申请。",
        "【费用】不收费。",
        "【不能确认的】婚姻、亲子、收养等身份关系，以及确认房屋、土地等物权或知识产权归谁的协议"
        "（民诉法解释355条）。",
        "【结果】协议有效的裁定确认；无效的驳回，双方可以重新调解，也可以起诉。",
        "【申请执行】确认后对方不履行的，要在2年内申请强制执行（民事诉讼法250条）。",
        "依据：民事诉讼法205、206条。以上是一般性信息，有疑问请拨打12368。",
    ])
