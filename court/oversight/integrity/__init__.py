"""Integrity alerts (廉政风险): patterns around mediation agreements and judicial
confirmation (司法确认) that deserve a second look by an admin.

Each rule is one function ``(session, *, start, end, now) -> list[Finding]`` over
the period [start, end), reading with SQL that runs the same on SQLite and
PostgreSQL. Findings are computed on demand and never stored; only an admin's
review enters the (append-only) audit log, as a category code without free text.

A finding is a reason to look, not a verdict: most will have an innocent
explanation, which is why reviews are recorded rather than findings hidden.

Modules: ``finding`` (what a finding is), ``readers`` (small readers the rules
share), ``rules_outcomes`` and ``rules_people`` (the rules and their thresholds),
``registry`` (the rules in order and running them) and ``audit`` (reviews and the
audit trail behind a finding). Callers import from here: ``from court import integrity``.
"""
from court.core.settings import LOCAL_TZ  # the zone findings' times are read in
from court.oversight.integrity.audit import (
    REVIEW_ACTION,
    REVIEW_ENTITY,
    AuditLine,
    review,
    review_entity_id,
    reviews,
    trail,
)
from court.oversight.integrity.finding import (
    HIGH,
    KEY_RE,
    MEDIUM,
    REVIEW_CATEGORIES,
    SEVERITY_LABELS,
    Finding,
    Review,
    Rule,
)
from court.oversight.integrity.registry import RULE_BY_KEY, RULES, find, findings, key_time
from court.oversight.integrity.rules_outcomes import (
    COUNTY_LOW_PERCENT,
    COUNTY_MIN_OUTCOMES,
    FAST_OUTCOME,
    JC_BURST,
    JC_BURST_WINDOW,
    ROUTINE_AFTER_JC,
    SUCCESS_HIGH_PERCENT,
    SUCCESS_MIN_OUTCOMES,
    edit_after_jc,
    fast_outcome,
    jc_burst,
    success_outlier,
)
from court.oversight.integrity.rules_people import SHARED_PHONE_CASES, mediator_party, shared_phone

__all__ = [
    "COUNTY_LOW_PERCENT", "COUNTY_MIN_OUTCOMES", "FAST_OUTCOME", "HIGH", "JC_BURST", "JC_BURST_WINDOW", "KEY_RE",
    "LOCAL_TZ", "MEDIUM", "REVIEW_ACTION", "REVIEW_CATEGORIES", "REVIEW_ENTITY", "ROUTINE_AFTER_JC", "RULES",
    "RULE_BY_KEY", "SEVERITY_LABELS", "SHARED_PHONE_CASES", "SUCCESS_HIGH_PERCENT", "SUCCESS_MIN_OUTCOMES",
    "AuditLine", "Finding", "Review", "Rule",
    "edit_after_jc", "fast_outcome", "find", "findings", "jc_burst", "key_time", "mediator_party", "review",
    "review_entity_id", "reviews", "shared_phone", "success_outlier", "trail",
]
