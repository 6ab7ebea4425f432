"""Guidance cards a phone can read, the rules behind them, routing away from
mediation, judicial confirmation and outcome hints; and the review of issue 14:
each corrected or added statement, with its article."""
import datetime as dt
import re

import pytest
import yaml

from court.reference import legal
from court.reference.guidance import (
    CARD_LIMIT,
    CHANNELS_FILE,
    DETAILS_LIMIT,
    DISPUTE_TYPES,
    LINE_LIMIT,
    ROUTING_KINDS,
    GuidanceCard,
    card,
    render_card,
    render_details,
    render_judicial_confirmation,
    render_outcome_hint,
    render_routing,
)
from court.reference.safety import emergency_numbers


def test_types_match_the_yaml():
    data = yaml.safe_load(CHANNELS_FILE.read_text(encoding="utf-8"))
    assert len(DISPUTE_TYPES) == 13
    assert list(DISPUTE_TYPES) == list(data["types"])
    assert set(ROUTING_KINDS) == set(data["routing"])


def test_card_is_loaded_and_cached():
    c = card("debt")
    assert isinstance(c, GuidanceCard)
    assert c.label == "民间借贷、债务" and "借条或欠条" in c.bring
    assert card("debt") is c
    assert c.first_channel  # stored on the case as its recommended channel


@pytest.mark.parametrize("dispute_type", DISPUTE_TYPES)
def test_the_card_is_three_short_lines_and_legal_aid(dispute_type):
    c = card(dispute_type)
    text = render_card(dispute_type)
    lines = text.split("\n")
    assert lines[0] == f"【{c.label}】" and len(lines) == 5
    assert [line.split("：")[0] for line in lines[1:4]] == ["先找谁", "带什么", "多久内要办"]
    assert all(len(line) <= LINE_LIMIT for line in lines) and len(text) <= CARD_LIMIT
    assert "12348" in lines[-1] and "法律援助" in lines[-1] and "12368" in lines[-1]
    assert c.bring[0] in lines[2]
    assert not re.search(r"第\d+条", text), "articles sit behind 看详细规定"
    assert not re.search(r"[\U0001F300-\U0001FAFF\u2600-\u27BF]", text)  # no emoji on old phones


@pytest.mark.parametrize("dispute_type", DISPUTE_TYPES)
def test_the_details_carry_every_rule_with_its_article(dispute_type):
    c = card(dispute_type)
    text = render_details(dispute_type)
    assert len(text) < DETAILS_LIMIT
    for key in (c.who, *c.rules, c.judicial_confirmation):
        assert legal.say(key) in text, key
    for marker in ("【先找谁】", "【规则和时限】", "【调解】", "【司法确认】", "【需要准备】"):
        assert marker in text
    assert "人民调解不收费" in text and "30日内" in text and "强制执行" in text
    assert all(item in text for item in c.bring)
    assert "12348" in text.split("\n")[-2] and "一般性信息" in text
    assert "None" not in text and "[" not in text


def test_a_heading_replaces_the_label_line():
    text = render_card("neighbor", heading="听起来是【邻里纠纷、相邻关系】方面的纠纷。")
    assert text.startswith("听起来是【邻里纠纷、相邻关系】方面的纠纷。\n先找谁：")


def test_unknown_type():
    with pytest.raises(ValueError):
        card("robbery")
    with pytest.raises(ValueError):
        render_card("")


# --- routing -----------------------------------------------------------------------

_MEDIATION_SUGGESTIONS = ("预约调解", "申请调解", "可以调解", "先调解", "调解员", "调解委员会")


@pytest.mark.parametrize("kind, text", [(k, t) for k in ROUTING_KINDS for t in ("", "我老公打我", "我儿子被抓了")])
def test_routing_never_suggests_mediation(kind, text):
    answer = render_routing(kind, text)
    assert not any(s in answer for s in _MEDIATION_SUGGESTIONS)


@pytest.mark.parametrize("text, numbers", [
    ("", ["110"]),
    ("他拿刀在门口堵我", ["110"]),
    ("他把我打得流血了，站不起来", ["110", "120"]),
    ("对面楼着火了", ["110", "119"]),
    ("活着没意思，不想活了", ["110", "12356"]),
    ("我老公喝了酒就打我", ["110", "12338"]),
    ("后妈天天打孩子", ["110", "12338"]),
])
def test_emergency_numbers_are_chosen_by_the_situation(text, numbers):
    answer = render_routing("emergency", text)
    assert "110" in answer.split("\n")[0]
    assert emergency_numbers(text) == numbers and all(n in answer for n in numbers)
    assert not any(n in answer for n in {"119", "12338"} - set(numbers))
    assert "调解" not in answer


def test_domestic_violence_in_an_emergency_brings_the_protection_order():
    answer = render_routing("emergency", "我老公喝了酒就打我")
    assert "人身安全保护令" in answer and "不收费" in answer and "告诫书" in answer


def test_unknown_routing():
    with pytest.raises(ValueError):
        render_routing("family")


def test_judicial_confirmation_answer():
    text = render_judicial_confirmation()
    for fact in ("共同提出", "30日内", "基层人民法院", "中级人民法院", "不交案件受理费", "身份关系", "物权", "2年",
                 "强制执行", "不是必须的", "12368"):
        assert fact in text, fact
    assert "民事诉讼法第205条" in text and "民诉法解释第355条" in text
    assert len(text) < DETAILS_LIMIT


def test_outcome_hints():
    jc = render_outcome_hint("agreement_needs_confirmation", dt.date(2026, 12, 31))
    assert "可以自调解协议生效之日起30日内" in jc and "最晚在12月31日" in jc
    with pytest.raises(ValueError):
        render_outcome_hint("agreement_needs_confirmation")
    assert "法律约束力" in render_outcome_hint("success")
    failed = render_outcome_hint("failed")
    assert "重新计算" in failed and "民法典第195条" in failed and "12348" in failed
    assert "重新预约" in render_outcome_hint("no_show")
    with pytest.raises(ValueError):
        render_outcome_hint("postponed")


# --- the review of issue 14: what changed, with its article -------------------------

def test_1_labour_mediation_runs_from_the_application_and_non_performance_from_the_agreement():
    text = render_details("labor")
    assert "收到调解申请之日起15日内没有达成调解协议的，可以申请仲裁（劳动争议调解仲裁法第14条）" in text
    assert "一方在协议约定的期限内不履行的，另一方可以申请仲裁（劳动争议调解仲裁法第15条）" in text
    assert "15日内不履行" not in text and "生效后15日内" not in text


def test_2_housing_jurisdiction_is_exclusive_only_for_the_listed_disputes():
    text = render_details("housing")
    assert ("房屋产权、房屋租赁、建设工程施工合同和政策性房屋买卖合同纠纷，由房屋所在地法院专属管辖"
            "（民事诉讼法第34条，民诉法解释第28条）") in text
    assert "普通的房屋买卖合同纠纷，由被告住所地或合同履行地法院管辖" in text and "民事诉讼法第24、35条" in text
    assert "房屋纠纷由房屋所在地法院专属管辖" not in text


def test_4_judicial_confirmation_is_optional_but_its_30_days_bind():
    assert legal.statement("jc.optional").text.startswith("双方认为有必要的，可以")
    assert all(c.statute in ("人民调解法", "民事诉讼法") for c in legal.statement("jc.optional").basis)


def test_5_an_arbitration_clause_excludes_the_courts_and_costs_money():
    text = render_details("contract")
    assert "法院不受理起诉，要向约定的仲裁委员会申请仲裁（民事诉讼法第127条）" in text
    assert "不是免费的（仲裁收费办法第2条）" in text and "先按约定仲裁" not in text


def test_6_property_management_cites_articles_5_and_10_and_forbids_cutting_supplies():
    text = render_details("property_mgmt")
    assert "物业管理条例第5、48条" in text and "物业管理条例第10条" in text and "第19条" not in text
    assert "不得用停止供电、供水、供热、供燃气等方式催交物业费（民法典第944条）" in text


def test_7_distributing_land_compensation_inside_the_village_is_a_civil_case():
    text = render_details("land")
    assert "村集体内部分配已经收到的征地补偿费用发生的纠纷，是民事纠纷" in text
    assert "农村土地承包纠纷解释第1条" in text
    assert "可以通过行政复议或者诉讼解决" in text and "应走行政复议或行政诉讼" not in text


def test_8_administrative_routing_gives_the_time_limits_and_mandatory_reconsideration():
    text = render_routing("administrative")
    assert "60日内申请行政复议" in text and "行政复议法第20、87条" in text
    assert "6个月内（行政诉讼法第46条）" in text and "15日内起诉（行政诉讼法第45条）" in text
    assert "要先申请行政复议，才能起诉（行政复议法第23条）" in text


def test_9_a_suspects_relative_is_not_told_to_report_and_a_light_injury_victim_may_sue():
    relative = render_routing("criminal", "我儿子被派出所抓走了，怎么办")
    assert "报案" not in relative
    for fact in ("委托律师", "刑事诉讼法第34条", "法律援助", "12348", "取保候审", "刑事诉讼法第67、97条", "24小时"):
        assert fact in relative, fact
    victim = render_routing("criminal", "我被他打成轻伤了")
    assert "报案" in victim and "刑事自诉（刑事诉讼法第210条）" in victim and "刑事和解（刑事诉讼法第288条）" in victim


def test_domestic_violence_comes_first_on_the_family_card():
    text = render_card("family", violence=True)
    lines = text.split("\n")
    assert "110" in lines[1] and "12338" in lines[1]
    assert all(f in lines[2] for f in ("人身安全保护令", "不收费", "不用先离婚", "72小时", "24小时"))
    assert "告诫书" in lines[3] and "12348" in lines[3]
    assert "调解" not in "\n".join(lines[1:4]) and len(text) <= CARD_LIMIT
    details = render_details("family", violence=True)
    assert details.index("人身安全保护令") < details.index("协议离婚")
    assert "反家庭暴力法第23、28条" in details and "反家庭暴力法第16条" in details and "法律援助法第32条" in details


@pytest.mark.parametrize("dispute_type, fact", [
    ("labor", "收到裁决书之日起15日内向法院起诉（劳动争议调解仲裁法第48、50条）"),
    ("labor", "1年内，直接向社会保险行政部门申请（工伤保险条例第17条）"),
    ("debt", "权利受损超过20年的，法院不再保护，有特殊情况的可以申请延长（民法典第188条）"),
    ("debt", "诉讼时效从调解结束时起重新计算（民法典第195条）"),
    ("land", "土地承包仲裁时效2年"),
    ("traffic", "向自己投保的保险公司索赔，诉讼时效2年，从知道保险事故发生之日起算（人寿保险5年）（保险法第26条）"),
    ("medical", "48小时内尸检"),
    ("medical", "医学会或者司法鉴定机构鉴定"),
])
def test_deadlines_that_lose_cases_and_the_missing_items_are_there(dispute_type, fact):
    assert fact in render_details(dispute_type)
