"""The intermediate court, the basic courts and the special courts with their areas."""
from __future__ import annotations

import csv

from sqlalchemy import select
from sqlalchemy.orm import Session

from court.core.settings import DATA_DIR
from court.store.schema import Court, Place

COURTS_FILE = DATA_DIR / "courts.csv"

# Areas of the special courts, by place name (from the notes in courts.csv).
SPECIAL_AREAS = {
    "绥北人民法院": ("红星农场", "建设农场", "长水河农场", "龙门农场", "襄河农场", "赵光农场", "北安管理局局直"),
    "九三农垦法院": ("九三管理局局直", "鹤山农场", "大西江农场", "尖山农场", "荣军农场", "七星泡农场",
                   "嫩江农场", "山河农场", "建边农场", "嫩北农场"),
    "通北林区基层法院": ("通北林业局",),
    "沾河林区基层法院": ("沾河林业局",),
}


def load_courts(session: Session) -> int:
    places = session.execute(select(Place)).scalars().all()
    by_name = {c.name: c for c in session.execute(select(Court)).scalars()}
    with COURTS_FILE.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    intermediate = None
    for row in rows:
        court = by_name.get(row["name"]) or Court(name=row["name"])
        session.add(court)
        court.level = row["level"]
        court.county_code = row["county_code"] or None
        court.note = row["note"] or None
        if row["level"] == "intermediate":
            intermediate = court
            court.areas = [p for p in places if p.level == "prefecture"]
        elif row["level"] == "basic":
            court.areas = [p for p in places if p.county_code == court.county_code]
        else:
            names = SPECIAL_AREAS.get(row["name"], ())
            court.areas = [p for p in places if p.name in names]
        by_name[row["name"]] = court
    session.flush()
    for court in by_name.values():
        if court is not intermediate:
            court.parent_id = intermediate.id if intermediate else None
    session.flush()
    return len(by_name)
