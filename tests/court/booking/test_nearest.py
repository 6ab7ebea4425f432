import datetime as dt

from sqlalchemy import select

from court.booking import slots
from court.reference.places import PlaceDirectory, haversine_km
from court.store.schema import Mediator, MediatorException, ServicePoint
from tests.factories import NOW

# Real points around Heihe (GeoNames, approximate).
XIGANGZI = (49.8966, 127.33874)     # 西岗子镇, 40 km south of the city
SUNWU_SEAT = (49.41749, 127.3155)    # 孙吴县城
NENJIANG_SEAT = (49.17414, 125.21774)


def _names(found):
    return [p.name for p, _, _ in found]


def test_nearest_point_to_a_telegram_location(db):
    with db.reader() as s:
        found = slots.nearest_points(s, *XIGANGZI, now=NOW)
        assert _names(found)[0] == "西岗子镇调解工作服务点"
        assert found[0][1] < 1.0
        assert [d for _, d, _ in found] == sorted(d for _, d, _ in found)
        # The next ones are real neighbours: 坤河乡 and 瑷珲镇 lie about 10-12 km away.
        assert set(_names(found)[1:]) <= {"坤河乡调解工作服务点", "瑷珲镇调解工作服务点"}
        assert all(slot.starts_at > NOW for _, _, slot in found)


def test_nearest_from_a_typed_place(db):
    with db.reader() as s:
        place = PlaceDirectory.load(s).resolve("嫩江市伊拉哈镇")
        found = slots.nearest_points(s, place.lat, place.lng, limit=1, now=NOW)
        assert _names(found) == ["伊拉哈镇调解工作服务点"]
        # GeoNames puts 伊拉哈 39 km south of the county seat.
        assert 36 < haversine_km(*NENJIANG_SEAT, place.lat, place.lng) < 42
        seat = slots.nearest_points(s, *NENJIANG_SEAT, limit=1, now=NOW)
        assert seat[0][1] == 0.0 and seat[0][0].place.county_code == "231183"


def test_points_without_a_free_mediator_are_skipped(db):
    with db.transaction() as s:
        sp = s.execute(select(ServicePoint).where(ServicePoint.code == "SP-231102101")).scalar_one()
        for m in sp.mediators:
            m.exceptions.append(MediatorException(starts_on=NOW.date(), ends_on=NOW.date() + dt.timedelta(days=30)))
    with db.reader() as s:
        found = slots.nearest_points(s, *XIGANGZI, within_days=14, now=NOW)
        assert "西岗子镇调解工作服务点" not in _names(found)
        assert found[0][1] > 5


def test_inactive_points_and_retired_mediators_are_skipped(db):
    with db.transaction() as s:
        for sp in s.execute(select(ServicePoint).where(ServicePoint.name.like("孙吴镇%"))).scalars():
            sp.active = False
        for m in s.execute(select(Mediator).where(Mediator.code.like("M-231124201-%"))).scalars():  # 西兴乡
            m.status = "retired"
    with db.reader() as s:
        names = _names(slots.nearest_points(s, *SUNWU_SEAT, limit=2, now=NOW))
        assert "孙吴镇调解工作服务点" not in names and "西兴乡调解工作服务点" not in names
