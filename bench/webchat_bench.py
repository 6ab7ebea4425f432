"""The web chat under load: page weight, first render, message round trip, pushes to open pages.

    python -m bench.webchat_bench [--postgres URL] [--users N] [--pushes N]

1. Page weight: the page, its script and style, gzip -9.
2. First render on loopback: GET / and GET /api/state until the greeting is in the state.
3. Round trip: residents post the same scripted messages through the web chat
   (cookie, CSRF, journal, relay, Rasa, action server, stored replies) and straight
   to Rasa's REST channel (the baseline), at 1 and N concurrent residents; at N also
   REST residents greeted first, as the page greets every new conversation.
4. Pushes: N agent replies written to N open pages' conversations while the server
   is down; timed from its start to the last one arriving on the pages' event streams.
"""
from __future__ import annotations

import argparse
import datetime as dt
import gzip
import threading
import time
import uuid
from pathlib import Path

from bench.databases import fresh_database
from bench.telegram_bench import SCRIPT, _percentiles, rest_round_trips
from court.core.settings import LOCAL_TZ
from court.records import journal
from court.seeding.seed import seed
from court.store.schema import RecipientType
from stack.processes import Stack, free_port
from stack.train import ensure_model
from tools.webchat_client import EventStream, WebResident

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=LOCAL_TZ)
ENV = {"WEBCHAT_OUTBOX_INTERVAL": "0.1", "BOT_RATE_MESSAGES": "1000", "WEBCHAT_NEW_PER_ADDRESS": "100000"}
ROOT = Path(__file__).resolve().parent.parent / "webchat"


def page_weight() -> dict[str, float]:
    parts = [ROOT / "templates" / "index.html", ROOT / "static" / "chat.js", ROOT / "static" / "chat.css"]
    raw = sum(p.stat().st_size for p in parts)
    zipped = sum(len(gzip.compress(p.read_bytes(), 9)) for p in parts)
    return {"bytes": raw, "gzip bytes": zipped}


def first_render(url: str, samples: int = 20) -> dict[str, float]:
    timings = []
    for _ in range(samples):
        me = WebResident(url)
        started = time.perf_counter()
        me.open()
        me.http.get("/static/chat.js")
        me.http.get("/static/chat.css")
        me.start()
        timings.append(time.perf_counter() - started)
    return _percentiles(timings)


def rest_greeted_round_trips(stack: Stack, users: int) -> dict[str, float]:
    """The REST baseline with the web page's extra turn: each resident is greeted first (not timed),
    as the page greets a new conversation, so both sides put the same turns on Rasa."""
    timings: list[float] = []
    lock = threading.Lock()

    def resident() -> None:
        me, local = f"bench-{uuid.uuid4().hex[:8]}", []
        stack.say(me, "/greet", timeout=120)
        for text in SCRIPT:
            started = time.perf_counter()
            stack.say(me, text, timeout=120)
            local.append(time.perf_counter() - started)
        with lock:
            timings.extend(local)

    started = time.perf_counter()
    threads = [threading.Thread(target=resident) for _ in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return _percentiles(timings) | {"messages/s": len(timings) / (time.perf_counter() - started)}


def web_round_trips(url: str, users: int) -> dict[str, float]:
    timings: list[float] = []
    lock = threading.Lock()

    def resident() -> None:
        me = WebResident(url)
        me.open()
        me.start()
        local = []
        for text in SCRIPT:
            started = time.perf_counter()
            me.say(text)
            local.append(time.perf_counter() - started)
        with lock:
            timings.extend(local)

    started = time.perf_counter()
    threads = [threading.Thread(target=resident) for _ in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return _percentiles(timings) | {"messages/s": len(timings) / (time.perf_counter() - started)}


def pushes(stack: Stack, db, url: str, count: int, pages: int = 20) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from court.messaging.webchat import _hash
    from court.store.schema import WebConversation
    residents = []
    for _ in range(pages):
        me = WebResident(url)
        me.open()
        me.start()
        residents.append(me)
    with db.reader() as s:
        numbers = [s.execute(select(WebConversation.id).where(
            WebConversation.cookie_hash == _hash(r.http.cookies["hh_chat"]))).scalar_one() for r in residents]
    after = [r.last_id() for r in residents]
    port = int(url.rsplit(":", 1)[1])
    stack.kill_webchat()
    with db.transaction() as s:
        for i in range(count):
            journal.enqueue(s, key=f"bench:{i}", recipient_type=RecipientType.CHAT, recipient_id=None,
                            template="agent_reply", payload={"conversation_id": f"web-{numbers[i % pages]}",
                                                             "text": f"回复{i}", "agent": "李敏"}, due_at=NOW)
    started = time.perf_counter()
    stack.start_webchat(port=port, extra_env=ENV)
    up = time.perf_counter() - started
    streams = [EventStream(r, after=a) for r, a in zip(residents, after)]
    try:
        deadline = time.monotonic() + 300
        while sum(sum(1 for e in s.events if e.get("type") == "message") for s in streams) < count:
            if time.monotonic() > deadline:
                raise RuntimeError("pushes did not all arrive")
            time.sleep(0.02)
        seconds = time.perf_counter() - started - up
    finally:
        for stream in streams:
            stream.close()
    return {"pushes": count, "open pages": pages, "seconds": seconds, "pushes/s": count / seconds,
            "start-up s": up}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server (default: SQLite)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--pushes", type=int, default=500)
    args = parser.parse_args()
    db = fresh_database("court_webchat_bench", args.postgres)
    db.migrate()
    seed(db, today=NOW.date())
    model = ensure_model(quiet=True)
    with Stack(model, database_url=db.url, extra_env={"COURT_FAKE_NOW": NOW.isoformat()}) as stack:
        url = stack.start_webchat(port=free_port(), extra_env=ENV)
        stack.say("warm-up", "你好")
        weight = page_weight()
        render = first_render(url)
        trips = {"REST, 1": rest_round_trips(stack, 1), "web, 1": web_round_trips(url, 1),
                 f"REST, {args.users}": rest_round_trips(stack, args.users),
                 f"web, {args.users}": web_round_trips(url, args.users),
                 f"REST+greet, {args.users}": rest_greeted_round_trips(stack, args.users)}
        delivered = pushes(stack, db, url, args.pushes)
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"\nPage weight: {weight['bytes']:.0f} bytes, {weight['gzip bytes']:.0f} bytes gzipped (HTML+JS+CSS)")
    print(f"First render on loopback (page, script, style, greeting from Rasa): "
          f"p50 {render['p50 ms']:.0f} ms, p95 {render['p95 ms']:.0f} ms")
    print(f"\nMessage round trip ({backend}; {len(SCRIPT)} messages per resident; REST straight to Rasa is the baseline)")
    print(f"{'metric':<12}" + "".join(f"{name:>18}" for name in trips))
    for metric in ("messages", "p50 ms", "p95 ms", "messages/s"):
        print(f"{metric:<12}" + "".join(f"{r[metric]:>18.1f}" for r in trips.values()))
    print("(a web resident's page is greeted first, an extra Rasa turn while the others are timed; "
          "REST+greet gives the REST residents the same turn)")
    print(f"\nPushes to open pages: {delivered['pushes']} to {delivered['open pages']} pages in "
          f"{delivered['seconds']:.2f} s = {delivered['pushes/s']:.0f} pushes/s (server start-up "
          f"{delivered['start-up s']:.1f} s not counted)")


if __name__ == "__main__":
    main()
