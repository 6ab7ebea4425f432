"""The Telegram front end under load: message round trip and outbox delivery.

    python -m bench.telegram_bench [--postgres URL] [--users N] [--pushes N]

1. Round trip: residents on a local Bot API server send a scripted conversation;
   each message is timed from the update being queued to the bot's first reply
   arriving, through the bot, Rasa, the action server and the database. The
   same messages sent straight to Rasa's REST channel are the baseline, so the
   column difference is what the Telegram front end costs.
2. Outbox delivery: N pushes written by N bookings while the bot is down, timed
   from the first push sent to the last after it starts; the baseline is
   python-telegram-bot sending the same number of messages to the same server
   with no database at all.

Round trips are timed to the bot's first reply message of each turn.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import statistics
import threading
import time
import uuid

from sqlalchemy import func, select
from telegram import Bot

from bench.databases import fresh_database
from court.booking import engine, slots
from court.core.settings import LOCAL_TZ
from court.records import cases, residents
from court.seeding.seed import seed
from court.store.db import Database
from court.store.schema import Mediator, OutboxMessage, ServicePoint
from stack.processes import Stack
from stack.train import ensure_model
from tools.fake_telegram.driver import FakeTelegram

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=LOCAL_TZ)
TOKEN = "123456:bench-token"
SCRIPT = ["你好", "老板拖欠俺三个月工资不给咋整", "人民调解要钱吗", "标的三万要交多少诉讼费", "谢谢"]
BOT_ENV = {"BOT_OUTBOX_INTERVAL": "0.1", "BOT_RATE_MESSAGES": "1000", "BOT_POLL_TIMEOUT": "1"}


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"messages": len(ordered), "p50 ms": statistics.median(ordered) * 1000,
            "p95 ms": ordered[int(0.95 * (len(ordered) - 1))] * 1000}


def telegram_round_trips(tg: FakeTelegram, users: int, base_id: int) -> dict[str, float]:
    timings: list[float] = []
    lock = threading.Lock()

    def resident(k: int) -> None:
        user = tg.user(base_id + k, first_name="居民")
        local = []
        for text in SCRIPT:
            mark = user.mark()
            started = time.perf_counter()
            user.send(text)
            user.wait_for(lambda m: True, after=mark, timeout=120)
            local.append(time.perf_counter() - started)
        with lock:
            timings.extend(local)

    started = time.perf_counter()
    threads = [threading.Thread(target=resident, args=(k,)) for k in range(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return _percentiles(timings) | {"messages/s": len(timings) / (time.perf_counter() - started)}


def rest_round_trips(stack: Stack, users: int) -> dict[str, float]:
    timings: list[float] = []
    lock = threading.Lock()

    def resident() -> None:
        me, local = f"bench-{uuid.uuid4().hex[:8]}", []
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


def link_all_mediators(db: Database, tg: FakeTelegram, base_id: int) -> None:
    with db.transaction() as s:
        for k, mediator in enumerate(s.execute(select(Mediator).order_by(Mediator.id)).scalars()):
            mediator.telegram_chat_id = base_id + k
            tg.user(base_id + k, first_name="调解员")


def book_many(db: Database, count: int) -> int:
    """Bookings spread over points and days; each writes one immediate push."""
    booked = 0
    with db.reader() as s:
        points = [p.id for p in s.execute(select(ServicePoint).order_by(ServicePoint.id)).scalars()]
    day = NOW.date() + dt.timedelta(days=1)
    while booked < count:
        with db.transaction() as s:
            for point_id in points:
                free = slots.free_slots(s, point_id, day, day, now=NOW)
                if not free:
                    continue
                resident = residents.record_consent(s)
                case = cases.open_case(s, dispute_type="debt", summary="借款到期不还", actor="bench", resident=resident)
                engine.book(s, case, point_id=point_id, starts_at=free[0].starts_at, actor="bench", now=NOW)
                booked += 1
                if booked == count:
                    break
        day += dt.timedelta(days=1)
    return booked


def sent_count(db: Database) -> int:
    with db.reader() as s:
        return s.execute(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.template == "appointment_new", OutboxMessage.status == "sent")).scalar_one()


def outbox_throughput(db: Database, stack: Stack, tg: FakeTelegram, count: int) -> dict[str, float]:
    """Pushes written while the bot is down, then delivered after it starts:
    timed from the first push sent to the last, so booking speed does not count."""
    before = sent_count(db)
    stack.kill_bot()
    book_many(db, count)
    restarted = time.perf_counter()
    stack.start_bot(token=TOKEN, api_base=tg.api_root, extra_env=BOT_ENV)
    first = None
    deadline = restarted + 600
    while sent_count(db) < before + count and time.perf_counter() < deadline:
        if first is None and sent_count(db) > before:
            first = time.perf_counter()
        time.sleep(0.02)
    done = time.perf_counter()
    first = first or done
    delivered = sent_count(db) - before
    return {"pushes": delivered, "seconds": done - first, "pushes/s": delivered / max(done - first, 1e-9),
            "start-up s": first - restarted}


def raw_sends(tg: FakeTelegram, count: int, chat_id: int) -> dict[str, float]:
    async def go() -> float:
        async with Bot(TOKEN, base_url=tg.base_url) as bot:
            started = time.perf_counter()
            for k in range(count):
                await bot.send_message(chat_id, f"第{k}条")
            return time.perf_counter() - started

    seconds = asyncio.run(go())
    return {"pushes": count, "seconds": seconds, "pushes/s": count / seconds, "start-up s": 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server (default: SQLite)")
    parser.add_argument("--users", type=int, default=10, help="concurrent residents in the load column")
    parser.add_argument("--pushes", type=int, default=200)
    args = parser.parse_args()
    db = fresh_database("court_telegram_bench", args.postgres)
    db.migrate()
    seed(db, today=NOW.date())
    model = ensure_model(quiet=True)
    with FakeTelegram(token=TOKEN, bot_username="heihe_court_bot") as tg, \
            Stack(model, database_url=db.url, extra_env={"COURT_FAKE_NOW": NOW.isoformat()}) as stack:
        stack.start_bot(token=TOKEN, api_base=tg.api_root, extra_env=BOT_ENV)
        stack.say("warm-up", "你好")
        link_all_mediators(db, tg, 900_000)
        trips = {
            "REST, 1": rest_round_trips(stack, 1),
            "Telegram, 1": telegram_round_trips(tg, 1, 100_000),
            f"REST, {args.users}": rest_round_trips(stack, args.users),
            f"Telegram, {args.users}": telegram_round_trips(tg, args.users, 200_000),
        }
        pushes = {"PTB alone (baseline)": raw_sends(tg, args.pushes, 100_000),
                  "outbox via bot": outbox_throughput(db, stack, tg, args.pushes)}
        stack.kill_bot()
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"\nMessage round trip ({backend}; {len(SCRIPT)} messages per resident; REST straight to Rasa is the baseline)")
    print(f"{'metric':<12}" + "".join(f"{name:>16}" for name in trips))
    for metric in ("messages", "p50 ms", "p95 ms", "messages/s"):
        print(f"{metric:<12}" + "".join(f"{r[metric]:>16.1f}" for r in trips.values()))
    print(f"\nOutbox delivery ({args.pushes} pushes)")
    print(f"{'metric':<12}" + "".join(f"{name:>22}" for name in pushes))
    for metric in ("pushes", "seconds", "pushes/s", "start-up s"):
        print(f"{metric:<12}" + "".join(f"{r[metric]:>22.2f}" for r in pushes.values()))


if __name__ == "__main__":
    main()
