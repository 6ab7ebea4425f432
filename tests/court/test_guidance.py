import re

import pytest
import yaml

from court.guidance import (
    CARD_LIMIT,
    CHANNELS_FILE,
    DISPUTE_TYPES,
    ROUTING_KINDS,
    GuidanceCard,
    card,
    render_card,
    render_judicial_confirmation,
    render_routing,
)


def test_types_match_the_yaml():
    data = yaml.safe_load(CHANNELS_FILE.read_text(encoding="utf-8"))
    assert len(DISPUTE_TYPES) == 13
    assert list(DISPUTE_TYPES) == list(data["types"])
    assert set(ROUTING_KINDS) == set(data["routing"])


def test_card_is_loaded_and_cached():
    c = card("debt")
    assert isinstance(c, GuidanceCard)
    assert c.label == "民间借贷、债务"
    assert "借条或欠条" in c.bring
    assert card("debt") is c


@pytest.mark.parametrize("dispute_type", DISPUTE_TYPES)
def test_every_card_renders(dispute_type):
    c = card(dispute_type)
    text = render_card(dispute_type)
    assert len(text) < CARD_LIMIT
    assert c.label in text
    assert c.first_channel in text
    for item in c.bring:
        assert item in text
    for marker in ("【首选渠道】", "【规则和时限】", "【司法确认】", "【需要准备】"):
        assert marker in text
    assert "人民调解免费" in text
    assert "30日内" in text and "共同" in text and "基层法院" in text and "不收费" in text
    assert "强制执行" in text
    assert "一般性信息" in text and "12368" in text
    assert re.search(r"\d+条", text), "rules carry article references"


@pytest.mark.parametrize("dispute_type", DISPUTE_TYPES)
def test_card_is_plain_text(dispute_type):
    text = render_card(dispute_type)
    assert not re.search(r"[\U0001F300-\U0001FAFF\u2600-\u27BF]", text)  # no emoji on old phones
    assert "None" not in text and "[" not in text


def test_labour_card_requires_arbitration_first():
    text = render_card("labor")
    first = text.split("【首选渠道】")[1].split("\n")[0]
    assert "仲裁" in first and "1年" in first and "起诉前" in first
    assert "劳动仲裁也不收费" in text


def test_family_card_on_status_relations():
    text = render_card("family")
    assert "身份关系不能申请司法确认" in text
    assert "财产分割" in text and "抚养费" in text
    assert "30天冷静期" in text


@pytest.mark.parametrize("dispute_type, phrase", [
    ("housing", "房屋归谁所有的协议不能确认"),
    ("land", "宅基地归谁的协议不能确认"),
    ("land", "仲裁不是必经程序"),
    ("traffic", "10日内"),
    ("debt", "诉讼时效3年"),
    ("consumer", "7个工作日"),
    ("medical", "双方都同意"),
])
def test_type_specific_rules(dispute_type, phrase):
    assert phrase in render_card(dispute_type)


def test_unknown_type():
    with pytest.raises(ValueError):
        card("robbery")
    with pytest.raises(ValueError):
        render_card("")


_MEDIATION_SUGGESTIONS = ("预约调解", "申请调解", "可以调解", "先调解", "调解员", "调解委员会")


@pytest.mark.parametrize("kind", ROUTING_KINDS)
def test_routing_never_suggests_mediation(kind):
    text = render_routing(kind)
    assert not any(s in text for s in _MEDIATION_SUGGESTIONS)


def test_emergency_leads_with_110():
    text = render_routing("emergency")
    assert "110" in text.split("\n")[0]
    assert "12338" in text and "人身安全保护令" in text
    assert "调解" not in text


def test_criminal_and_administrative():
    criminal = render_routing("criminal")
    assert "公安机关" in criminal and "报案" in criminal
    administrative = render_routing("administrative")
    assert "行政复议" in administrative and "行政诉讼" in administrative


def test_unknown_routing():
    with pytest.raises(ValueError):
        render_routing("family")


def test_judicial_confirmation_answer():
    text = render_judicial_confirmation()
    for fact in ("共同申请", "30日内", "基层人民法院", "不收费", "身份关系", "物权", "2年内", "强制执行", "12368"):
        assert fact in text, fact
    assert len(text) < CARD_LIMIT
