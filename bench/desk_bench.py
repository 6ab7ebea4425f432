"""The 12368 desk under a busy queue, PostgreSQL beside SQLite.

    python -m bench.desk_bench --postgres postgresql+psycopg2://court@127.0.0.1:55432/postgres

Each backend gets a fresh migrated, seeded database with 200 waiting and 50 taken
handoffs. Figures, p50/p95 in ms:
- the queue: court.hotline.queue.queue() alone (the baseline) beside GET /queue.json through
  the Flask app (session, role check, JSON) — what every agent's browser polls every 3 s;
- the handoff page with its booking panel (the transcript call fails fast: no Rasa here);
- times near a town for a desk booking, and booking them (one transaction each);
- 20 agents taking one conversation at once: how long until all have their answer.
"""
from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import threading
import time
from typing import Callable

from bench.booking_bench import _percentile
from bench.databases import fresh_database
from court.core.errors import CourtError
from court.core.settings import LOCAL_TZ
from court.hotline import accounts, agent_booking, handoffs, queue
from court.records import residents
from court.seeding.seed import seed
from court.store.db import Database
from desk.app import create_app

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=LOCAL_TZ)
PASSWORD = "bench password 12368"
WAITING, TAKEN, RUNS = 200, 50, 60


def _timed(fn: Callable[[], object], runs: int = RUNS) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples), _percentile(samples, 0.95)


def _fill(db: Database) -> tuple[accounts.DeskUser, list[int]]:
    with db.transaction() as s:
        agent = accounts.create_user(s, "bench.agent", PASSWORD, role="agent", display_name="基准", actor="bench",
                                     now=NOW)
        ids = []
        for i in range(WAITING + TAKEN):
            conversation = f"tg-{900000 + i}"
            resident = residents.record_consent(s, conversation_id=conversation, telegram_user_id=900000 + i, now=NOW)
            residents.set_contact(s, resident, name="测试居民", phone=f"139{10000000 + i}")
            handoff, _ = handoffs.request(s, conversation, reason="request_human", dispute_type="neighbor")
            ids.append(handoff.id)
        for hid in ids[WAITING:]:
            queue.take(s, hid, agent, now=NOW)
    return agent, ids


def _client(db: Database):  # type: ignore[no-untyped-def]
    app = create_app(db, rasa_url="http://127.0.0.1:9", testing=True)
    client = app.test_client()
    token = re.search(r'name="csrf-token" content="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": "bench.agent", "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    return client


def run(db: Database) -> dict[str, str]:
    db.migrate()
    seed(db, today=NOW.date())
    agent, ids = _fill(db)
    client = _client(db)
    out: dict[str, str] = {}

    def queue_direct() -> None:
        with db.reader() as s:
            assert len(queue.queue(s, now=NOW)) == WAITING + TAKEN

    out["queue(): p50 / p95"] = "%.1f / %.1f" % _timed(queue_direct)
    out["GET /queue.json: p50 / p95"] = "%.1f / %.1f" % _timed(lambda: client.get("/queue.json"))
    taken = ids[WAITING:]
    out["handoff page: p50 / p95"] = "%.1f / %.1f" % _timed(lambda: client.get(f"/handoffs/{taken[0]}"), runs=20)

    def times() -> list:
        with db.reader() as s:
            return agent_booking.find_times(s, taken[0], agent, place="爱辉区西岗子", dispute_type="neighbor",
                                           now=NOW)[1]

    out["times near a town: p50 / p95"] = "%.1f / %.1f" % _timed(times, runs=20)
    booked, t0 = 0, time.perf_counter()
    for hid in taken[:20]:
        with db.reader() as s:
            offer = agent_booking.find_times(s, hid, agent, place="西岗子", dispute_type="neighbor", now=NOW)[1][0]
        with db.transaction() as s:
            agent_booking.book(s, hid, agent, token=offer.token, dispute_type="neighbor", summary="基准测试",
                              phone=f"13910{hid:06d}"[:11], name=None, consent=False, now=NOW)
        booked += 1
    out["desk bookings/s (times + book)"] = f"{booked / (time.perf_counter() - t0):.1f}"

    with db.transaction() as s:
        racers = [accounts.create_user(s, f"racer{i}", PASSWORD, role="agent", display_name="r", actor="bench", now=NOW)
                  for i in range(20)]
    barrier, wins, done = threading.Barrier(20), [], []

    def take(user: accounts.DeskUser) -> None:
        barrier.wait()
        try:
            with db.transaction() as s:
                queue.take(s, ids[0], user, now=NOW)
            wins.append(user.username)
        except CourtError:
            pass
        done.append(time.perf_counter())

    threads = [threading.Thread(target=take, args=(u,)) for u in racers]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out["20 agents take one: winners / ms"] = f"{len(wins)} / {(max(done) - t0) * 1000:.0f}"
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a database 'court_desk' is recreated on it")
    args = parser.parse_args()
    columns = {"SQLite": run(fresh_database("court_desk", None))}
    if args.postgres:
        columns["PostgreSQL"] = run(fresh_database("court_desk", args.postgres))
    print(f"\n12368 desk, {WAITING} waiting + {TAKEN} taken handoffs (ms unless stated)")
    names = list(columns)
    print(f"{'':36}" + "".join(f"{n:>16}" for n in names))
    for key in columns[names[0]]:
        print(f"{key:36}" + "".join(f"{columns[n][key]:>16}" for n in names))


if __name__ == "__main__":
    main()
