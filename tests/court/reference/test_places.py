import pytest

from court.core.errors import InvalidCoordinates, OutsideHeihe, PlaceAmbiguous, PlaceNotFound
from court.reference.places import PlaceDirectory, check_coordinates, haversine_km


@pytest.fixture
def directory(db):
    with db.reader() as session:
        return PlaceDirectory.load(session)


@pytest.mark.parametrize("text", ["爱辉区西岗子", "西岗子镇", "西岗子", "黑河市爱辉区西岗子镇", "俺在西岗子这边",
                                  "西岗子镇红星村", "爱辉西岗子"])
def test_town_names_with_and_without_county_and_suffix(directory, text):
    place = directory.resolve(text)
    assert place.name == "西岗子镇" and place.county_name == "爱辉区"


def test_street_in_county(directory):
    place = directory.resolve("俺在北安市和平街道")
    assert (place.name, place.level) == ("和平街道", "street")
    assert directory.resolve("北安和平").name == "和平街道"
    assert directory.resolve("五大连池和平").name == "和平镇"


@pytest.mark.parametrize("text,expected", [("兴安", {"爱辉区兴安街道", "五大连池市兴安乡"}),
                                           ("和平", {"北安市和平街道", "五大连池市和平镇"}),
                                           ("西兴", {"爱辉区西兴街道", "孙吴县西兴乡"})])
def test_ambiguous_names_list_every_candidate(directory, text, expected):
    with pytest.raises(PlaceAmbiguous) as err:
        directory.resolve(text)
    assert {c.display_name for c in err.value.candidates} == expected
    assert "请选一个" in err.value.message


def test_aliases_from_the_second_listing(directory):
    assert directory.resolve("上马厂镇").name == "上马厂乡"
    assert directory.resolve("朝阳山镇").name == "朝阳乡"
    assert directory.resolve("四嘉子乡").name == "四嘉子满族乡"
    assert directory.resolve("兆麟街道地区").name == "兆麟街道"
    assert directory.resolve("沿江满族达斡尔族乡").name == "沿江满族乡"


def test_exact_town_name_beats_county_prefix(directory):
    assert directory.resolve("五大连池镇").level == "town"
    assert directory.resolve("五大连池").level == "county"
    assert directory.resolve("逊克县奇克镇").name == "奇克镇"


def test_county_only_and_city(directory):
    assert directory.resolve("孙吴县").name == "孙吴县"
    assert directory.resolve("黑河").name == "爱辉区"


def test_farms_are_flagged_for_special_courts(directory):
    farm = directory.resolve("红星农场")
    assert farm.special_area and farm.county_name == "北安市"


def test_missing_coordinates_fall_back_to_county_seat(directory):
    town = directory.resolve("赵光镇")
    seat = directory.resolve("北安市")
    assert town.coord_fallback and (town.lat, town.lng) == (seat.lat, seat.lng)
    assert not directory.resolve("西岗子").coord_fallback


@pytest.mark.parametrize("text", ["哈尔滨市道里区", "伊春市", "齐齐哈尔", "北京朝阳区", "桦南县"])
def test_outside_heihe(directory, text):
    with pytest.raises(OutsideHeihe) as err:
        directory.resolve(text)
    assert "不在黑河市" in err.value.message


@pytest.mark.parametrize("text", ["光明村", "", "   ", "不知道", "asdf"])
def test_unknown_places(directory, text):
    with pytest.raises(PlaceNotFound) as err:
        directory.resolve(text)
    assert "没有找到" in err.value.message


def test_coordinates_are_checked():
    assert check_coordinates("50.24", 127.49) == (50.24, 127.49)
    with pytest.raises(OutsideHeihe):
        check_coordinates(45.75, 126.65)  # Harbin
    for bad in [("x", 1), (None, None), (float("nan"), 127.0), (95, 127)]:
        with pytest.raises(InvalidCoordinates):
            check_coordinates(*bad)


def test_haversine_heihe_to_beian():
    # Heihe (50.244, 127.490) to Bei'an (48.267, 126.600): about 229 km.
    assert 225 < haversine_km(50.24413, 127.49016, 48.26667, 126.6) < 233
