import datetime as dt

import pytest
from sqlalchemy import func, select

from court.seeding.roster import RosterError, load_roster, load_roster_file
from court.seeding.seed import seed
from court.store.schema import Court, Mediator, Place, ServicePoint
from tests.conftest import SEED_DAY


def _count(s, model):
    return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_heihe_is_all_there(db):
    with db.reader() as s:
        levels = dict(s.execute(select(Place.level, func.count()).group_by(Place.level)).all())
        assert levels["county"] == 6 and levels["prefecture"] == 1
        assert _count(s, Place) >= 122
        assert _count(s, ServicePoint) == 115  # one per township-level unit
        mediators = s.execute(select(Mediator)).scalars().all()
        assert all(m.is_demo for m in mediators)
        per_point = [len(p.mediators) for p in s.execute(select(ServicePoint)).scalars()]
        assert min(per_point) >= 1 and max(per_point) <= 3
        assert {len(m.availability) for m in mediators} != {10}  # availability varies
        assert any(m.exceptions for m in mediators)


def test_courts_serve_their_areas(db):
    with db.reader() as s:
        courts = {c.name: c for c in s.execute(select(Court)).scalars()}
        aihui = courts["黑河市爱辉区人民法院"]
        assert {p.county_code for p in aihui.areas} == {"231102"} and len(aihui.areas) > 15
        assert {p.name for p in courts["绥北人民法院"].areas} >= {"红星农场", "建设农场", "长水河农场"}
        assert courts["黑河市爱辉区人民法院"].parent_id == courts["黑龙江省黑河市中级人民法院"].id


def test_seed_is_idempotent(db):
    with db.reader() as s:
        before = {m.__tablename__: _count(s, m) for m in (Place, Court, ServicePoint, Mediator)}
    seed(db, today=SEED_DAY)
    with db.reader() as s:
        assert {m.__tablename__: _count(s, m) for m in (Place, Court, ServicePoint, Mediator)} == before


ROSTER = """
service_points:
  - code: SP-REAL-1
    name: 花园街道调解工作服务点
    place: "231102001000"
    address: 黑河市爱辉区花园街道社区服务中心
    hours: ["1-5 09:00-12:00"]
mediators:
  - code: M-REAL-1
    name: 刘淑芬
    phone: "139 4561 2378"
    points: [SP-REAL-1]
    dispute_types: [family, neighbor]
    availability: ["1,3 09:00-12:00"]
    leave: ["2026-12-07..2026-12-09 年假"]
"""


def test_court_roster_file_loads(db, tmp_path):
    path = tmp_path / "roster.yaml"
    path.write_text(ROSTER, encoding="utf-8")
    with db.transaction() as s:
        assert load_roster_file(s, path, actor="clerk") == (1, 1)
    with db.reader() as s:
        m = s.execute(select(Mediator).where(Mediator.code == "M-REAL-1")).scalar_one()
        assert m.phone == "13945612378" and not m.is_demo
        assert [p.code for p in m.service_points] == ["SP-REAL-1"]
        assert m.exceptions[0].starts_on == dt.date(2026, 12, 7)
        assert sorted(a.weekday for a in m.availability) == [0, 2]


@pytest.mark.parametrize("mutation,problem", [
    (("mediators", "phone", "12345"), "手机号"),
    (("mediators", "dispute_types", ["gossip"]), "未知纠纷类型"),
    (("mediators", "availability", ["mon 9-12"]), "时间段格式"),
    (("mediators", "points", ["SP-NOWHERE"]), "未知服务点"),
    (("service_points", "place", "999999999999"), "不在黑河市"),
    (("service_points", "hours", ["1-5 12:00-09:00"]), "开始时间应早于结束时间"),
])
def test_bad_roster_is_refused_whole(db, mutation, problem):
    import yaml

    data = yaml.safe_load(ROSTER)
    section, key, value = mutation
    data[section][0][key] = value
    with db.reader() as s:
        before = (_count(s, ServicePoint), _count(s, Mediator))
    with pytest.raises(RosterError) as err:
        with db.transaction() as s:
            load_roster(s, data["service_points"], data["mediators"], actor="clerk")
    assert problem in err.value.message
    with db.reader() as s:
        assert (_count(s, ServicePoint), _count(s, Mediator)) == before
