"""Transcripts live in the tracker database, not in Rasa's memory: they outlive a
Rasa crash, and an erased conversation stays erased. Each test restarts the
Rasa server once (about half a minute with the model)."""
from __future__ import annotations

import uuid

import requests
from sqlalchemy import create_engine, text

from court.store.tracker_db import tracker_database_url

LEAK = "俺家楼上天天往下漏水，找他好几回了也不管，这事咋整"


def sender() -> str:
    return f"e2e-transcript-{uuid.uuid4().hex[:8]}"


def user_texts(tracker: dict) -> list[str]:
    return [e.get("text") for e in tracker.get("events") or [] if e.get("event") == "user"]


def replies(answers: list[dict]) -> str:
    return "\n".join(r.get("text") or "" for r in answers)


def stored(stack_db, conversation: str) -> dict[str, int]:
    """Rows per event type in the tracker database beside the stack's court database."""
    engine = create_engine(tracker_database_url({"DATABASE_URL": stack_db.url}), future=True)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT type_name, count(*) FROM events WHERE sender_id = :s GROUP BY type_name"),
                                {"s": conversation}).all()
    finally:
        engine.dispose()
    return dict(rows)


def assert_no_in_memory_fallback(stack) -> None:
    log = (stack.log_dir / "rasa.log").read_text(encoding="utf-8", errors="replace")
    assert "Using `InMemoryTrackerStore` instead" not in log and "Could not create tables" not in log


def test_a_conversation_survives_a_rasa_crash_mid_form(stack, stack_db):
    me = sender()
    assert "人民调解" in replies(stack.say(me, LEAK))
    assert "同意" in replies(stack.say(me, "/book_mediation"))
    assert stored(stack_db, me).get("user") == 2

    stack.restart_rasa()

    assert_no_in_memory_fallback(stack)
    assert user_texts(stack.tracker(me)) == [LEAK, "/book_mediation"]
    # The dialogue state came back too: the booking form goes on where it stopped.
    assert "称呼" in replies(stack.say(me, "/affirm"))


def test_an_erased_conversation_stays_erased_after_a_restart(stack, stack_db):
    me, other = sender(), sender()
    stack.say(me, LEAK)
    stack.say(me, "/book_mediation")
    stack.say(other, LEAK)
    # What the bot sends for /delete_my_data.
    requests.put(f"{stack.rasa_url}/conversations/{me}/tracker/events", json=[], headers=stack.api_headers(),
                 timeout=10).raise_for_status()
    assert user_texts(stack.tracker(me)) == []
    assert "user" not in stored(stack_db, me)

    stack.restart_rasa()

    assert_no_in_memory_fallback(stack)
    assert user_texts(stack.tracker(me)) == []
    assert "user" not in stored(stack_db, me) and "bot" not in stored(stack_db, me)
    assert user_texts(stack.tracker(other)) == [LEAK]
    # Erased means a fresh start, not a stuck conversation.
    assert "诉前调解助手" in replies(stack.say(me, "你好"))
