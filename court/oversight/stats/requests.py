"""接诉即办 figures for a period: requests by kind and by township or organisation, the court's
response time (median and p90, hours from filing to the reply) and the organisations' satisfaction."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from court.oversight.stats.sql import Spread, period, scaled, seconds_between, share, spread, sum_when, within
from court.store.schema import PartnerOrganisation, Place, RequestKind, SupportRequest

KIND_ORDER = tuple(k.value for k in RequestKind)


@dataclass(frozen=True)
class RequestFigures:
    start: dt.date
    end: dt.date
    filed: int  # requests filed in the period
    by_kind: list[tuple[str, int]]  # (kind value, filed), in the fixed order of kinds
    by_township: list[tuple[str, int]]  # (township, or the organisation when it has no place), largest first
    answered: int  # of those filed in the period, answered (at any time up to now)
    response_median_hours: Optional[float]
    response_p90_hours: Optional[float]
    rated: int  # ratings given in the period
    rating_mean: Optional[float]  # 1-5
    satisfied: int  # rated 4 or 5
    satisfied_share: Optional[float]  # satisfied / rated


def request_figures(session: Session, *, start: dt.date, end: dt.date) -> RequestFigures:
    """Requests filed in the period (local days, both ends included) and ratings given in it.

    - by_township: the organisation's place (a township's or street's name); a department or
      organisation without a place is listed under its own name;
    - response time: answered_at - filed_at over the period's requests that have been answered;
      median and nearest-rank p90, in hours (rounded to 0.1);
    - satisfaction: ratings given in the period (by rated_at): their mean, and the share of 4 and 5.
    """
    first, last, lo, hi = period(start, end)
    filed_in = within(SupportRequest.filed_at, lo, hi)
    kinds = dict(session.execute(select(SupportRequest.kind, func.count()).where(filed_in)
                                 .group_by(SupportRequest.kind)).all())
    where = func.coalesce(Place.name, PartnerOrganisation.name)
    towns = [(str(name), int(n)) for name, n in session.execute(
        select(where, func.count()).select_from(SupportRequest)
        .join(PartnerOrganisation, PartnerOrganisation.id == SupportRequest.organisation_id)
        .outerjoin(Place, Place.id == PartnerOrganisation.place_id)
        .where(filed_in).group_by(where))]
    answered = int(session.execute(select(func.count()).where(filed_in, SupportRequest.answered_at.isnot(None))
                                   .select_from(SupportRequest)).scalar_one())
    times: Spread = spread(session, select(seconds_between(SupportRequest.answered_at, SupportRequest.filed_at))
                           .where(filed_in, SupportRequest.answered_at.isnot(None)))
    rated, total, happy = session.execute(
        select(func.count(), func.sum(SupportRequest.rating), sum_when(SupportRequest.rating >= 4))
        .where(within(SupportRequest.rated_at, lo, hi), SupportRequest.rating.isnot(None))).one()
    rated = int(rated or 0)
    return RequestFigures(
        start=first, end=last, filed=sum(int(n) for n in kinds.values()),
        by_kind=[(k, int(kinds.get(k, 0))) for k in KIND_ORDER],
        by_township=sorted(towns, key=lambda tn: (-tn[1], tn[0])),
        answered=answered,
        response_median_hours=scaled(times.median, 3600), response_p90_hours=scaled(times.p90, 3600),
        rated=rated, rating_mean=round(int(total) / rated, 2) if rated else None,
        satisfied=int(happy or 0), satisfied_share=share(int(happy or 0), rated),
    )
