import pytest

from court.safety import danger_signs, domestic_violence, emergency_numbers, light_injury, suspect_relative


@pytest.mark.parametrize("text", ["他拿刀在门口堵我", "救命啊他还在打", "活着没意思不想活了", "老公喝多了要弄死我",
                                  "邻居说要放火烧房子"])
def test_danger_words_are_caught(text):
    assert danger_signs(text)


@pytest.mark.parametrize("text", ["楼上漏水", "去年被打了一顿想要赔偿", "欠钱不还", ""])
def test_ordinary_disputes_are_not_flagged(text):
    assert not danger_signs(text)


@pytest.mark.parametrize("text, expected", [
    ("我老公天天打我", True), ("家暴好几年了", True), ("后爸打孩子", True), ("婆婆动手打我", True),
    ("邻居打了我一顿", False), ("老公不给生活费", False), ("他打官司赢了", False),
])
def test_domestic_violence(text, expected):
    assert domestic_violence(text) is expected


@pytest.mark.parametrize("text, numbers", [
    ("楼上漏水", ["110"]), ("砍伤了，流了好多血", ["110", "120"]), ("着火了", ["110", "119"]),
    ("我不想活了", ["110", "12356"]), ("我老公打我", ["110", "12338"]), ("有人打孩子", ["110", "12338"]),
])
def test_emergency_numbers(text, numbers):
    assert emergency_numbers(text) == numbers


@pytest.mark.parametrize("text, relative", [
    ("我儿子被派出所抓走了", True), ("老公被刑拘了能取保吗", True), ("骗子被抓了", False), ("我被人骗了", False),
])
def test_suspect_relative(text, relative):
    assert suspect_relative(text) is relative


def test_light_injury():
    assert light_injury("被他打成轻伤") and light_injury("打伤了我的腿") and not light_injury("他骂了我")
