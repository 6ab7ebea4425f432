"""Which court a joint application for judicial confirmation goes to (民事诉讼法第205条,
2023 revision): for an agreement a mediation organisation reached on its own, the basic
court where the organisation is located; when the dispute falls to an intermediate
court's jurisdiction, that intermediate court.

Art. 205 also allows the basic court where a party lives or the subject matter is; the
documents name the organisation's court (the service point's county), the one every
party can be told without asking where they live. The special farm and forest courts
of courts.csv are left out: their status after the reclamation-area reform is not
verified, and the county's basic court covers those places too.
"""
from __future__ import annotations

import csv
from functools import lru_cache
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from court.core.errors import ValidationError
from court.core.settings import DATA_DIR
from court.store.schema import Court, Place, ServicePoint

COURTS_FILE = DATA_DIR / "courts.csv"


@lru_cache(maxsize=1)
def _courts() -> tuple[dict[str, str], str]:
    """(county code → basic court name, the intermediate court's name) from courts.csv."""
    basic: dict[str, str] = {}
    intermediate = ""
    with COURTS_FILE.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["level"] == "basic" and row["county_code"]:
                basic[row["county_code"]] = row["name"]
            elif row["level"] == "intermediate":
                intermediate = row["name"]
    return basic, intermediate


def court_name(county_code: Optional[str], *, intermediate: bool = False) -> str:
    """The court for an organisation located in county ``county_code`` (6-digit code)."""
    basic, top = _courts()
    if intermediate:
        return top
    name = basic.get((county_code or "")[:6])
    if name is None:
        raise ValidationError("调解组织所在的县（市、区）不在黑河市辖区内，无法确定受理司法确认的法院，请人工选择。")
    return name


def confirmation_court(session: Session, service_point_id: Optional[int], *, intermediate: bool = False) -> Court:
    """The court row for a case mediated at ``service_point_id``."""
    if service_point_id is None and not intermediate:
        raise ValidationError("这个案件没有调解服务点，无法确定受理司法确认的法院。")
    county = None
    if service_point_id is not None:
        county = session.execute(
            select(Place.county_code).join(ServicePoint, ServicePoint.place_id == Place.id)
            .where(ServicePoint.id == service_point_id)).scalar_one_or_none()
    name = court_name(county, intermediate=intermediate)
    court = session.execute(select(Court).where(Court.name == name)).scalar_one_or_none()
    if court is None:
        raise ValidationError(f"法院名录中没有“{name}”，请先导入法院数据。")
    return court
