"""Guidance cards: who handles a dispute first, what to bring and how long there
is to act, in three short lines; the rules with their articles behind "看详细规定";
where to go when mediation is the wrong door; judicial confirmation; what an
outcome means for the resident.

Which statements a card uses comes from data/dispute_channels.yaml; every legal
sentence is a statement of data/legal_statements.yaml (court/reference/legal.py), so the
table and its articles are the only source of what the assistant says about the law.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Optional

import yaml

from court.core.settings import DATA_DIR
from court.reference import safety
from court.reference.legal import say

CHANNELS_FILE = DATA_DIR / "dispute_channels.yaml"

# The dispute intents of the assistant (dispute_<key>); same keys as the yaml.
DISPUTE_TYPES = (
    "family", "neighbor", "labor", "debt", "property_mgmt", "housing", "traffic",
    "consumer", "contract", "land", "medical", "injury", "other",
)
ROUTING_KINDS = ("emergency", "criminal", "administrative")
CARD_LIMIT = 260      # characters of the three-line card: one phone screen with the booking offer
LINE_LIMIT = 60       # characters of one of its lines
DETAILS_LIMIT = 1600  # the details behind "看详细规定"; Telegram allows 4096
BRING_ON_CARD = 4

DISCLAIMER = "以上是一般性信息，不是对您个案的法律意见。"


@dataclass(frozen=True)
class ViolenceCard:
    lines: tuple[str, ...]
    rules: tuple[str, ...]
    bring: tuple[str, ...]


@dataclass(frozen=True)
class GuidanceCard:
    key: str
    label: str
    first_channel: str  # as stored on the case
    who: str            # statement keys from here on
    deadline: str
    rules: tuple[str, ...]
    judicial_confirmation: str
    bring: tuple[str, ...]
    violence: Optional[ViolenceCard] = None


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
    violence = raw.get("violence")
    return GuidanceCard(
        key=dispute_type,
        label=str(raw["label"]),
        first_channel=str(raw["first_channel"]),
        who=str(raw["who"]),
        deadline=str(raw["deadline"]),
        rules=tuple(str(r) for r in raw.get("rules") or ()),
        judicial_confirmation=str(raw["judicial_confirmation"]),
        bring=tuple(str(b) for b in raw.get("bring") or ()),
        violence=None if not violence else ViolenceCard(
            lines=tuple(violence["lines"]), rules=tuple(violence["rules"]), bring=tuple(violence["bring"])),
    )


def statement_keys(dispute_type: str) -> set[str]:
    """Every statement a card and its details can use (for the tests)."""
    c = card(dispute_type)
    keys = {c.who, c.deadline, c.judicial_confirmation, *c.rules, "mediation.basics", "jc.card", "legal_aid.closing"}
    if c.violence:
        keys |= {*c.violence.lines, *c.violence.rules}
    return keys


def _line(key: str) -> str:
    return say(key, with_basis=False, short=True).rstrip("。")


def _closing() -> str:
    return say("legal_aid.closing", with_basis=False)


def render_card(dispute_type: str, *, violence: bool = False, heading: Optional[str] = None) -> str:
    """The three-line card: 先找谁、带什么、多久内要办, then legal aid and 12368.

    With `violence` (family only) the lines are safety first: 110 and 12338, the
    personal safety protection order, the police warning and legal aid."""
    c = card(dispute_type)
    lines = [heading or f"【{c.label}】"]
    if violence and c.violence:
        first, order, aid = (_line(k) for k in c.violence.lines)
        lines += [f"先保安全：{first}", f"保护令：{order}", f"还可以：{aid}"]
    else:
        bring = "、".join(c.bring[:BRING_ON_CARD]) + ("等" if len(c.bring) > BRING_ON_CARD else "")
        lines += [f"先找谁：{_line(c.who)}", f"带什么：{bring}", f"多久内要办：{_line(c.deadline)}"]
    lines.append(_closing())
    return "\n".join(lines)


def render_details(dispute_type: str, *, violence: bool = False) -> str:
    """The rules behind the card, each with its statute and article."""
    c = card(dispute_type)
    lines = [f"【{c.label}：详细规定】"]
    if violence and c.violence:
        lines += [f"· {say(k)}" for k in c.violence.rules]
        lines.append("【需要准备】" + "、".join(c.violence.bring))
        lines.append("【其他家庭纠纷】")
        lines += [f"· {say(k)}" for k in c.rules]
    else:
        lines.append(f"【先找谁】{say(c.who)}")
        lines.append("【规则和时限】")
        lines += [f"· {say(k)}" for k in c.rules]
        lines.append(f"【调解】{say('mediation.basics')}")
        lines.append(f"【司法确认】{say('jc.card')}{say(c.judicial_confirmation)}")
        lines.append("【需要准备】" + "、".join(c.bring))
    lines.append(say("legal_aid.closing"))
    lines.append(DISCLAIMER)
    return "\n".join(lines)


# --- when mediation is the wrong door --------------------------------------------

_NUMBER_LINES = {
    "110": "如果您或家人正面临危险，请立即拨打110报警。",
    "120": "有人受伤，请拨打120急救电话。",
    "119": "发生火灾，请先离开危险的地方，拨打119报警。",
    "12356": "如果您或身边的人有轻生的念头，请拨打12356心理援助热线，有人会认真听您说；情况危急请拨打110或120。",
    "12338": "妇女、儿童遭受暴力的，可以拨打妇联12338热线求助。",
}
_NOT_MEDIATION = "这类事情不能通过人民调解解决，本服务无法为您预约。"


def _routing(kind: str, situation: str) -> list[str]:
    return [str(k) for k in _data()["routing"][kind][situation]]


def render_routing(kind: str, text: str = "") -> str:
    """Where to go instead of mediation, chosen by what the resident wrote:
    "emergency", "criminal" or "administrative"."""
    if kind not in ROUTING_KINDS:
        raise ValueError(f"unknown routing kind: {kind!r}")
    if kind == "emergency":
        lines = [_NUMBER_LINES[n] for n in safety.emergency_numbers(text)]
        if safety.domestic_violence(text):
            lines += [f"· {say(k)}" for k in _routing("emergency", "domestic_violence")]
        lines.append("先确保人身安全，其他事情之后再处理。")
        return "\n".join(lines)
    if kind == "criminal":
        if safety.suspect_relative(text):
            lines = ["家人被公安机关带走或拘留的，可以这样做："]
            lines += [f"· {say(k)}" for k in _routing("criminal", "relative")]
            lines.append("请不起律师的，可以先拨打12348咨询法律援助。")
        else:
            situation = "light_injury" if safety.light_injury(text) else "victim"
            lines = [f"· {say(k)}" for k in _routing("criminal", situation)]
        lines.append(_NOT_MEDIATION + "其他问题可以拨打12368咨询。")
        return "\n".join(lines)
    lines = ["对行政机关的决定（例如罚款、征收补偿、登记）不服的："]
    lines += [f"· {say(k)}" for k in _routing("administrative", "any")]
    lines.append("这类事情不适用人民调解，本服务无法为您预约。具体可以拨打12368咨询；请不起律师的，可以拨打12348咨询法律援助。")
    return "\n".join(lines)


def routing_statement_keys() -> set[str]:
    return {str(k) for kind in _data()["routing"].values() for keys in kind.values() for k in keys}


# --- judicial confirmation and outcomes -------------------------------------------

def render_judicial_confirmation() -> str:
    """What judicial confirmation of a mediation agreement is and how to apply."""
    return "\n".join([
        "【什么是司法确认】在人民调解委员会等依法设立的调解组织达成调解协议后，双方可以请法院审查确认。"
        + say("jc.result"),
        f"【要不要申请】{say('jc.not_required')}",
        f"【向哪个法院】{say('jc.where')}{say('jc.intermediate')}也可以通过“人民法院在线服务”线上申请。",
        f"【费用】{say('jc.free')}",
        f"【不能确认的】{say('jc.excluded')}",
        f"【申请执行】{say('jc.enforce_2y')}",
        "以上是一般性信息，有疑问请拨打12368。",
    ])


def render_outcome_hint(result: str, deadline: Optional[dt.date] = None) -> str:
    """What a recorded mediation outcome means for the resident (the outcome push)."""
    if result == "agreement_needs_confirmation":
        if deadline is None:
            raise ValueError("a confirmation hint needs its deadline")
        return (say("jc.optional") + say("jc.free") + say("jc.deadline", date=f"{deadline.month}月{deadline.day}日")
                + "有疑问请拨打12368。")
    if result == "success":
        return (say("mediation.binding") + say("jc.optional") + say("jc.enforceable") + "有疑问请拨打12368。")
    if result == "failed":
        return ("调解没有成功。" + say("mediation.after_failure") + say("general.limitation_restarts")
                + say("labor.arbitration_first", short=True) + say("legal_aid.closing", with_basis=False))
    if result == "no_show":
        return "这次调解因当事人未到场没有进行。如仍需调解，可以重新预约。"
    raise ValueError(f"unknown outcome: {result!r}")


def all_statement_keys() -> set[str]:
    """Statements any card, details, routing answer or hint can use."""
    keys = routing_statement_keys() | {"jc.result", "jc.not_required", "jc.where", "jc.intermediate", "jc.free",
                                       "jc.excluded", "jc.enforce_2y", "jc.optional", "jc.deadline",
                                       "mediation.binding", "jc.enforceable", "mediation.after_failure",
                                       "general.limitation_restarts", "labor.arbitration_first"}
    for t in DISPUTE_TYPES:
        keys |= statement_keys(t)
    return keys

