"""委派调解 figures, apart from the residents' own cases: the cases the court delegated in a
period and how they came back, for an area and per mediator."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from court.oversight.stats.area_scope import AreaRef, case_area
from court.oversight.stats.sql import Spread, period, scaled, seconds_between, share, spread, spreads, sum_when, within
from court.store.schema import Case, Delegation, DelegationStatus

_SETTLED = Delegation.status == DelegationStatus.SETTLED.value
_RETURNED = Delegation.status == DelegationStatus.RETURNED.value


@dataclass(frozen=True)
class DelegatedFigures:
    """Cases delegated in the period (by the day they were delegated) and where they stand now:
    delegated = settled + returned + still_open; accepted counts those a mediator accepted."""

    delegated: int
    accepted: int
    settled: int  # agreement
    jc_requested: int  # of the settled ones, gone on to 司法确认
    returned: int  # 调解不成，转立案
    still_open: int
    success_rate: Optional[float]  # settled / (settled + returned)
    days_to_outcome_median: Optional[float]


def _counts() -> list:
    """delegated, accepted, settled, of them gone to 司法确认, returned to filing."""
    return [func.count(), sum_when(Delegation.accepted_at.isnot(None)), sum_when(_SETTLED),
            sum_when(Case.jc_requested_at.isnot(None)), sum_when(_RETURNED)]


def figures(session: Session, *, area: AreaRef, county_code: Optional[str], start: dt.date,
            end: dt.date) -> DelegatedFigures:
    _, _, lo, hi = period(start, end)
    where = [within(Delegation.delegated_at, lo, hi), *case_area(area, county_code)]
    counted = select(*_counts()).select_from(Delegation).join(Case, Case.id == Delegation.case_id).where(*where)
    total, accepted, settled, jc, returned = (int(v or 0) for v in session.execute(counted).one())
    days = spread(session, select(seconds_between(Delegation.outcome_at, Delegation.delegated_at))
                  .select_from(Delegation).join(Case, Case.id == Delegation.case_id)
                  .where(*where, Delegation.outcome_at.isnot(None)))
    return DelegatedFigures(delegated=total, accepted=accepted, settled=settled, jc_requested=jc, returned=returned,
                            still_open=total - settled - returned, success_rate=share(settled, settled + returned),
                            days_to_outcome_median=scaled(days.median, 86400))


@dataclass(frozen=True)
class MediatorDelegated:
    delegated: int = 0
    accepted: int = 0
    settled: int = 0
    returned: int = 0
    success_rate: Optional[float] = None
    days_to_outcome_median: Optional[float] = None


def by_mediator(session: Session, mediator_ids: Optional[Sequence[int]], *, start: dt.date,
                end: dt.date) -> dict[int, MediatorDelegated]:
    """Per mediator now holding the case (a decline hands it back to the court, so it leaves the decliner):
    cases delegated in the period, accepted, settled, returned, and days to the outcome."""
    _, _, lo, hi = period(start, end)
    where = [within(Delegation.delegated_at, lo, hi), Case.mediator_id.isnot(None)]
    if mediator_ids is not None:
        where.append(Case.mediator_id.in_(list(mediator_ids)))
    rows = session.execute(select(Case.mediator_id, *_counts()).select_from(Delegation)
                           .join(Case, Case.id == Delegation.case_id).where(*where).group_by(Case.mediator_id)).all()
    days = spreads(session, select(Case.mediator_id, seconds_between(Delegation.outcome_at, Delegation.delegated_at))
                   .select_from(Delegation).join(Case, Case.id == Delegation.case_id)
                   .where(*where, Delegation.outcome_at.isnot(None)))
    out: dict[int, MediatorDelegated] = {}
    for mediator_id, total, accepted, settled, _, returned in rows:
        settled, returned = int(settled or 0), int(returned or 0)
        out[mediator_id] = MediatorDelegated(
            delegated=int(total), accepted=int(accepted or 0), settled=settled, returned=returned,
            success_rate=share(settled, settled + returned),
            days_to_outcome_median=scaled(days.get(mediator_id, Spread(None, None)).median, 86400))
    return out
