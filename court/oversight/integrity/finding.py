"""What a finding is: its severity, its stable key, the latest review of it, and the
rule that raised it. Every rule module and the registry speak in these types."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Callable, Optional

HIGH, MEDIUM = "high", "medium"
SEVERITY_LABELS = {HIGH: "高", MEDIUM: "中"}

# Reviews: a fixed choice only. Free-text notes could name people, and the audit
# log can never be erased.
REVIEW_CATEGORIES: dict[str, str] = {
    "cleared": "已核实无问题",
    "referred": "已转纪检",
    "watch": "需继续观察",
}

KEY_RE = re.compile(r"^[a-z_]+:[a-z]+:[A-Za-z0-9-]+:\d{14}$")


@dataclass(frozen=True)
class Review:
    audit_id: int
    at: dt.datetime
    actor: str
    category: str

    @property
    def category_label(self) -> str:
        return REVIEW_CATEGORIES.get(self.category, self.category)


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str  # HIGH or MEDIUM
    subject: str  # stable and free of personal data: "mediator:12", "phone:r34", "case:HH261129-7K3Q"
    subject_label: str  # what the admin reads (phones masked)
    summary: str
    first: dt.datetime
    last: dt.datetime
    case_ids: tuple[int, ...] = ()
    appointment_ids: tuple[int, ...] = ()
    outcome_ids: tuple[int, ...] = ()
    audit_ids: tuple[int, ...] = ()
    mediator_ids: tuple[int, ...] = ()
    review: Optional[Review] = None  # the latest one

    @property
    def key(self) -> str:
        """Rule + subject + first time: the same finding keeps its key on every reading."""
        return f"{self.rule}:{self.subject}:{self.first.astimezone(dt.timezone.utc):%Y%m%d%H%M%S}"

    @property
    def severity_label(self) -> str:
        return SEVERITY_LABELS[self.severity]


@dataclass(frozen=True)
class Rule:
    key: str
    title: str
    why: str
    check: Callable[..., list[Finding]]
