import pytest

from court.safety import danger_signs


@pytest.mark.parametrize("text", ["他拿刀在门口堵我", "救命啊他还在打", "活着没意思不想活了", "老公喝多了要弄死我",
                                  "邻居说要放火烧房子"])
def test_danger_words_are_caught(text):
    assert danger_signs(text)


@pytest.mark.parametrize("text", ["楼上漏水", "去年被打了一顿想要赔偿", "欠钱不还", ""])
def test_ordinary_disputes_are_not_flagged(text):
    assert not danger_signs(text)
