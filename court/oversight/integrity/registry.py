"""The rules in the order the desk shows them, and running them: every finding of a
period with its latest review, one finding by its key, and the time a key names."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Optional

from sqlalchemy.orm import Session

from court.core import clock
from court.oversight.integrity.audit import reviews
from court.oversight.integrity.finding import HIGH, KEY_RE, MEDIUM, Finding, Rule
from court.oversight.integrity.rules_outcomes import edit_after_jc, fast_outcome, jc_burst, success_outlier
from court.oversight.integrity.rules_people import mediator_party, shared_phone

_SEVERITY_RANK = {HIGH: 0, MEDIUM: 1}


RULES: tuple[Rule, ...] = (
    Rule("jc_burst", "集中申请司法确认",
         "同一调解员短期内大量协议送司法确认，可能是批量制作虚假协议、借司法确认取得执行依据。", jc_burst),
    Rule("edit_after_jc", "申请司法确认后改动记录",
         "协议已送法院确认后再改结果、预约或案件，可能是在审查前后篡改调解记录。", edit_after_jc),
    Rule("mediator_party", "当事人与调解员手机号相同",
         "调解员调解自己或亲属的纠纷，违反回避要求，协议的真实性存疑。", mediator_party),
    Rule("shared_phone", "同一手机号关联多个案件",
         "同一号码反复作为当事人出现，可能是代办、虚构当事人或拆分案件刷数量。", shared_phone),
    Rule("fast_outcome", "调解结果登记过快",
         "预约开始不到10分钟就登记调解结果（当事人未到的除外），甚至早于预约时间，调解可能并未真正进行。", fast_outcome),
    Rule("success_outlier", "调解成功率异常偏高",
         "成功率远高于本县区其他调解员，可能如实，也可能只登记成功的案件或协议流于形式，值得抽查。", success_outlier),
)
RULE_BY_KEY: dict[str, Rule] = {r.key: r for r in RULES}


def findings(session: Session, *, start: dt.datetime, end: dt.datetime,
             now: Optional[dt.datetime] = None) -> list[Finding]:
    """Every rule over [start, end): high before medium, then the newest first."""
    now = now or clock.now()
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    found: list[Finding] = []
    for rule in RULES:
        found.extend(rule.check(session, start=start, end=end, now=now))
    done = reviews(session, [f.key for f in found])
    found = [replace(f, review=done[f.key][-1]) if f.key in done else f for f in found]
    found.sort(key=lambda f: f.key)
    found.sort(key=lambda f: f.first, reverse=True)
    found.sort(key=lambda f: _SEVERITY_RANK[f.severity])
    return found


def find(session: Session, key: str, *, start: dt.datetime, end: dt.datetime,
         now: Optional[dt.datetime] = None) -> Optional[Finding]:
    """The finding with this key in the period, or None."""
    if not KEY_RE.match(key or ""):
        return None
    rule = RULE_BY_KEY.get(key.split(":", 1)[0])
    if rule is None:
        return None
    now = now or clock.now()
    for f in rule.check(session, start=start, end=end, now=now):
        if f.key == key:
            done = reviews(session, [key]).get(key)
            return replace(f, review=done[-1]) if done else f
    return None


def key_time(key: str) -> Optional[dt.datetime]:
    """The first time a key names (UTC), or None for a malformed key."""
    if not KEY_RE.match(key or ""):
        return None
    try:
        return dt.datetime.strptime(key.rsplit(":", 1)[1], "%Y%m%d%H%M%S").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None
