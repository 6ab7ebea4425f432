"""Small readers the rules and the audit trail share: mediators by id and how they
are named, times as local text, and the sorted ids a finding carries."""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from court.core.settings import LOCAL_TZ
from court.store.schema import Mediator


def local_text(moment: dt.datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def load_mediators(session: Session, ids: Iterable[int]) -> dict[int, Mediator]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {m.id: m for m in session.execute(select(Mediator).where(Mediator.id.in_(wanted))).scalars()}


def who(mediators: dict[int, Mediator], mediator_id: Optional[int]) -> str:
    m = mediators.get(mediator_id) if mediator_id is not None else None
    return f"调解员{m.name}（{m.code}）" if m is not None else f"调解员#{mediator_id}"


def id_tuple(values: Iterable[Optional[int]]) -> tuple[int, ...]:
    return tuple(sorted({v for v in values if v is not None}))
