"""Every legal statement lives in court/reference/data/legal_statements.yaml with its statute
and article, and no card, detail, routing answer, fee answer, FAQ answer or push
states a time limit, fee, body or article that is not in that table."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.handlers.resident import HELP
from bot.notifications import render as render_push
from court.booking import engine
from court.mediation import outcomes
from court.reference import fees, guidance, legal
from court.store.schema import OutboxMessage, RecipientType
from tests.court.reference.test_fees import FEE_QUESTIONS
from tests.factories import NOW, local, new_case, shared_slot

ROOT = Path(__file__).resolve().parents[3]
DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
# The assistant's own data handling, not guidance on the law (个人信息保护法 notice; see test_privacy*).
NOT_GUIDANCE = {"utter_privacy", "utter_ask_consent"}
ROUTING_TEXTS = {
    "emergency": ["", "他拿刀在门口堵我", "我老公天天打我，昨天打得流血了", "活着没意思不想活了", "邻居家着火了",
                  "后爸天天打孩子"],
    "criminal": ["", "被人骗了两万块", "我被人打成轻伤了", "我儿子被派出所抓走了", "老公被刑拘了能取保吗"],
    "administrative": ["", "乡政府罚了我五千块不服"],
}
STATUTE_ARTICLE = re.compile(r"第[\d一二三四五六七八九十百零]+[条项]")


def responses() -> dict[str, str]:
    out = {}
    for name, variants in DOMAIN["responses"].items():
        if name in NOT_GUIDANCE:
            continue
        for i, variant in enumerate(variants):
            out[f"{name}#{i}"] = variant["text"]
    return out


def cards() -> dict[str, str]:
    out = {}
    for t in guidance.DISPUTE_TYPES:
        out[f"card:{t}"] = guidance.render_card(t)
        out[f"details:{t}"] = guidance.render_details(t)
        if guidance.card(t).violence:
            out[f"card:{t}:violence"] = guidance.render_card(t, violence=True)
            out[f"details:{t}:violence"] = guidance.render_details(t, violence=True)
    for kind, texts in ROUTING_TEXTS.items():
        for text in texts:
            out[f"routing:{kind}:{text}"] = guidance.render_routing(kind, text)
    out["judicial_confirmation"] = guidance.render_judicial_confirmation()
    for result in ("agreement_needs_confirmation", "success", "failed", "no_show"):
        out[f"outcome:{result}"] = guidance.render_outcome_hint(result, dt.date(2026, 12, 31))
    return out


def fee_answers() -> dict[str, str]:
    out = {f"fee:{q}": fees.answer(q, slot).text for q, slot, *_ in FEE_QUESTIONS}
    for kind in fees.FEE_KINDS:
        out[f"fee:{kind}:no amount"] = fees.render_estimate(None, kind)
    return out


ALL_TEXTS = {**responses(), **cards(), **fee_answers(), "bot:help": HELP}


# --- the table itself ------------------------------------------------------------

def test_every_statement_names_a_known_statute_and_an_article():
    t = legal.table()
    assert len(t.statements) >= 150
    for st in t.statements.values():
        assert st.basis, st.key
        for c in st.basis:
            assert c.statute in t.statutes, (st.key, c.statute)
            assert c.article.isdigit() or re.fullmatch(r"[一二三四五六七八九十]+", c.article), (st.key, c.article)


def test_the_statutes_are_the_texts_in_force():
    statutes = legal.table().statutes
    assert "2023年修正" in statutes["民事诉讼法"] and "2023年修订" in statutes["行政复议法"]
    assert "2022年修正" in statutes["民诉法解释"]


FILL = {"amount": "5万元", "fee": "1050元", "half": "525元", "low": "550", "high": "800元", "date": "12月31日"}


@pytest.mark.parametrize("key", sorted(legal.table().statements))
def test_statement_texts_carry_no_article_and_short_forms_add_no_fact(key):
    st = legal.statement(key)
    for form in filter(None, (st.text, st.short)):
        assert not STATUTE_ARTICLE.search(form), form  # articles come from `basis` only
    fill = {p: FILL[p] for p in st.placeholders}
    assert legal.audit(legal.say(key, **fill)) == []
    assert legal.audit(legal.say(key, short=True, **fill)) == []
    if st.short:
        assert legal.facts(st.short) <= legal.facts(st.text), (st.short, st.text)
        assert legal.bodies_named(st.short)[0] <= legal.bodies_named(st.text)[0], st.short


def test_every_statement_is_said_somewhere():
    used = guidance.all_statement_keys() | fees.statement_keys()
    for text in ALL_TEXTS.values():
        used |= legal.statements_in(text)
    assert set(legal.table().statements) - used == set()


# --- everything the assistant sends ---------------------------------------------

@pytest.mark.parametrize("name", sorted(ALL_TEXTS))
def test_no_text_states_a_fact_outside_the_table(name):
    assert legal.audit(ALL_TEXTS[name]) == [], name


def test_every_push_a_mediation_produces_is_in_the_table(db):
    with db.transaction() as s:
        day = dt.date(2026, 12, 1)
        sp, start = shared_slot(s, day)
        results = ("agreement_needs_confirmation", "success", "failed", "no_show")
        for hour, result in zip((8, 9, 10, 14), results):
            appt = engine.book(s, new_case(s, "labor"), point_id=sp.id, starts_at=local(day, hour, 30),
                               actor="test", now=NOW)
            engine.accept(s, appt.id, mediator_id=appt.mediator_id, now=NOW)
            outcomes.record_outcome(s, appt.mediator_id, appt.case.reference, result,
                                    now=appt.starts_at + dt.timedelta(hours=1))
        rows = s.execute(select(OutboxMessage).where(OutboxMessage.recipient_type != RecipientType.COURT.value)
                         ).scalars().all()
        told = [r for r in rows if r.template == "outcome_recorded"]
        assert {r.payload["result"] for r in told} == set(results)
        for row in rows:
            text = render_push(row.recipient_type, row.template, row.payload).text
            assert legal.audit(text) == [], (row.template, text)
    assert start  # the shared slot was real


# --- the audit refuses what is not in the table -----------------------------------

@pytest.mark.parametrize("text, problem", [
    # the old labour rule: the 15 days of art. 14 run from the application, not from the agreement
    ("调解协议生效后15日内未履行的，可以申请仲裁（劳动争议调解仲裁法第14条）。", "not in the table"),
    ("起诉要交诉讼费约600元。", "not in the table"),
    ("劳动仲裁不收费（劳动争议调解仲裁法第5条）。", "are not the basis"),
    ("不服的可以向信访局反映。", "body or hotline"),
    ("请拨打12345市民热线。", "body or hotline"),
    ("行政复议要在90日内申请。", "not in the table"),
    ("人民调解不收费（调解条例第4条）。", "unknown statute"),
    ("人民调解不收费。\n依据：民法典第188条。", "behind no statement"),
])
def test_the_audit_refuses_facts_outside_the_table(text, problem):
    problems = legal.audit(text)
    assert problems and any(problem in p for p in problems), problems


def test_the_audit_accepts_a_statement_with_its_articles():
    text = legal.say("labor.mediation_15_days")
    assert text.endswith("（劳动争议调解仲裁法第14条）。")
    assert legal.audit(text) == [] and legal.statements_in(text) == {"labor.mediation_15_days"}


def test_citations_group_articles_by_statute():
    assert legal.say("housing.exclusive").endswith("（民事诉讼法第34条，民诉法解释第28条）。")
    assert legal.say("dv.protection_order").endswith(
        "（反家庭暴力法第23、28条，人身安全保护令规定第1条，人身安全保护令批复第一项）。")
    assert legal.citations(legal.say("family.deadline")) == {
        legal.Citation("民法典", a) for a in ("188", "196", "1077")}


# --- the dialogue's own texts ------------------------------------------------------

def test_the_welcome_fits_in_three_lines():
    welcome = DOMAIN["responses"]["utter_welcome"][0]["text"]
    lines = welcome.split("\n")
    assert len(lines) == 3 and all(len(line) <= 50 for line in lines)
    assert "诉前调解助手" in welcome and "同意" in welcome and "110" in welcome and "隐私" in welcome


def test_the_booking_offer_comes_with_the_details_button():
    normal, = [v for v in DOMAIN["responses"]["utter_offer_booking"] if "condition" not in v]
    assert [b["title"] for b in normal["buttons"]] == ["帮我预约", "看详细规定", "先不用"]
    assert normal["buttons"][1]["payload"] == "/show_details"


def test_no_face_to_face_mediation_is_offered_first_when_violence_was_described():
    violent, = [v for v in DOMAIN["responses"]["utter_offer_booking"] if "condition" in v]
    assert violent["condition"] == [{"type": "slot", "name": "violence", "value": True}]
    assert "/book_mediation" not in [b["payload"] for b in violent["buttons"]]
    assert "不建议先和对方当面调解" in violent["text"]


def test_preservation_is_one_faq_answer():
    answer = DOMAIN["responses"]["utter_faq/preservation"][0]["text"]
    for article in ("民事诉讼法第84条", "民事诉讼法第104条", "民事诉讼法第103条", "诉讼费用交纳办法第14条"):
        assert article in answer
    assert "48小时" in answer and "30日内" in answer and "担保" in answer
