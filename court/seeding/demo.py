"""A fictional demo roster: one service point per township-level unit, 1-3 mediators each.

Everything here is marked ``demo``; the court's real roster replaces it
through ``roster.load_roster_file``.
"""
from __future__ import annotations

import datetime as dt
import random
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from court.seeding.divisions import MAIN_FILE, _read
from court.store.schema import DisputeType, Place

_SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾于董袁潘田姜崔蒋"
_GIVEN = "桂兰淑芬玉珍秀英凤霞建国志强永胜德福春生宝山国华丽娟晓东文杰海涛立新红梅雅琴振江树林长青金凤"
_HOURS = ["1-5 08:30-11:30", "1-5 13:30-16:30"]
# Varied weekly patterns: full-time, mornings, afternoons, two days, weekday + Saturday market day.
_PATTERNS = (
    ["1-5 08:30-11:30", "1-5 13:30-16:30"],
    ["1-5 08:30-11:30"],
    ["1,3,5 13:30-16:30"],
    ["2,4 08:30-11:30", "2,4 13:30-16:30"],
    ["1-3 09:00-11:30"],
)
_ALL_TYPES = [t.value for t in DisputeType]


def _phone(rng: random.Random) -> str:
    return "199" + "".join(str(rng.randint(0, 9)) for _ in range(8))


def _name(rng: random.Random) -> str:
    return rng.choice(_SURNAMES) + "".join(rng.sample(_GIVEN, rng.choice((1, 2))))


def demo_roster(session: Session, today: dt.date) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Records for ``roster.load_roster``; the same on every run for the same ``today``."""
    rng = random.Random(2021_0706)  # the seed document's date
    known = {p.code for p in session.execute(select(Place)).scalars()}
    points: list[dict[str, Any]] = []
    mediators: list[dict[str, Any]] = []
    next_monday = today + dt.timedelta(days=7 - today.weekday())
    for row in _read(MAIN_FILE):
        if row["level"] != "township" or row["stats_code_12"] not in known:
            continue
        code = f"SP-{row['code']}"
        points.append({
            "code": code,
            "name": f"{row['name']}调解工作服务点",
            "place": row["stats_code_12"],
            "address": f"{row['name']}人民政府（便民服务中心）内（演示数据）",
            "hours": _HOURS,
            "demo": True,
        })
        for k in range(rng.choice((1, 2, 2, 3))):
            types = set(rng.sample(_ALL_TYPES, rng.randint(3, 6)))
            types |= {"neighbor", "family"} if k == 0 else set()  # the commonest disputes always covered
            record: dict[str, Any] = {
                "code": f"M-{row['code']}-{k + 1}",
                "name": _name(rng),
                "phone": _phone(rng),
                "points": [code],
                "dispute_types": sorted(types),
                "availability": list(rng.choice(_PATTERNS)) if k else list(_PATTERNS[0]),
                "demo": True,
            }
            if rng.random() < 0.15:
                start = next_monday + dt.timedelta(days=rng.randint(0, 10))
                record["leave"] = [f"{start}..{start + dt.timedelta(days=rng.randint(0, 4))} 年假（演示）"]
            mediators.append(record)
    return points, mediators
