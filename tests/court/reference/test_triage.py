"""Triage rules: cues that win over a civil reading, the two options offered when unsure."""
import pytest

from court.reference import triage

TRIAGE = [f"dispute_{d}" for d in ("family", "neighbor", "labor", "debt", "property_mgmt", "housing", "traffic",
                                   "consumer", "contract", "land", "medical", "injury", "other")]


@pytest.mark.parametrize("text", [
    "俺儿子跟人打架把人打成轻伤二级了，人在看守所，对方要二十万才给谅解书，会判几年",
    "我爸醉驾被抓了，能取保候审吗",
    "邻居把我打了，鉴定是轻伤一级，我想让他坐牢",
    "被告人家属来找我签谅解书，签了是不是就不判了",
])
def test_criminal_cues_win(text):
    assert triage.overriding_label(text) == "criminal"


@pytest.mark.parametrize("text", [
    "去年跟邻居吵架被推了一下，鉴定轻微伤，就想要医药费",
    "法院会判离婚吗，孩子跟谁",
    "交警罚了我两百扣了三分，不服咋办",
    "欠钱不还，我想起诉他",
])
def test_civil_and_administrative_stories_have_no_criminal_cue(text):
    assert triage.overriding_label(text) is None


def test_danger_now_outranks_a_criminal_question():
    assert triage.overriding_label("他拿刀在门口说要砍死我，这得判几年") == "emergency"


def test_the_options_when_unsure_are_the_best_two_triage_labels():
    ranking = ["greet", "dispute_labor", "faq", "criminal", "dispute_traffic"]
    assert triage.clarify_options(ranking) == ["dispute_labor", "criminal"]
    assert triage.one_click("criminal", "nlu_fallback", ranking, unsure=True)
    assert not triage.one_click("dispute_traffic", "nlu_fallback", ranking, unsure=True)
    assert triage.one_click("dispute_labor", "dispute_labor", ranking, unsure=False)


def test_every_label_has_a_one_line_hint():
    for label in TRIAGE + list(triage.ROUTED_AWAY):
        assert 4 <= len(triage.hint(label)) <= 40, label
    assert set(triage.ROUTED_TITLES) == set(triage.ROUTED_AWAY)
