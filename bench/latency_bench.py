"""Message latency through a running Rasa server + action server (HTTP, REST channel).

    python -m bench.latency_bench [--postgres URL] [--rounds N]

Each scripted conversation greets, describes a dispute, fills the booking form,
takes the first offered time and confirms, so every message type is timed
(NLU only, custom actions, database reads and the booking write). Prints
p50/p95 per message and messages/s with 1 and with 20 concurrent
conversations side by side; the 1-conversation column is the baseline.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import threading
import time
import uuid


from bench.databases import fresh_database
from court.seeding.seed import seed
from court.settings import LOCAL_TZ
from court.store.db import Database
from tools.stack import Stack
from tools.train import ensure_model



NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=LOCAL_TZ)
PLACES = ["爱辉区西岗子", "北安市和平街道", "嫩江伊拉哈镇", "孙吴县辰清镇", "逊克县奇克镇", "五大连池龙镇", "瑷珲镇",
          "海兰街道", "二井镇", "克林镇"]
STORIES = ["俺家楼上天天往下漏水，找他好几回了也不管", "老板拖欠俺三个月工资不给咋整", "借给朋友两万块钱写了借条到期不还",
           "物业费涨了服务还不行，业委会也不管", "电动车让人给撞了对方不想赔"]


def conversation(stack: Stack, i: int, timings: list[float], lock: threading.Lock) -> None:
    me = f"bench-{uuid.uuid4().hex[:10]}"
    script = ["你好", STORIES[i % len(STORIES)], "/book_mediation", "/affirm", "王桂芝",
              f"139{i % 10}{(4561237 + i) % 10_000_000:07d}", PLACES[i % len(PLACES)], "下周三上午"]
    local: list[float] = []
    replies: list[dict] = []
    for message in script:
        started = time.perf_counter()
        replies = stack.say(me, message, timeout=120)
        local.append(time.perf_counter() - started)
    offers = [b["payload"] for r in replies for b in r.get("buttons") or [] if "slot_token" in b["payload"]]
    for message in ([offers[0], "/affirm"] if offers else []):
        started = time.perf_counter()
        stack.say(me, message, timeout=120)
        local.append(time.perf_counter() - started)
    with lock:
        timings.extend(local)


def run(stack: Stack, concurrency: int, rounds: int) -> dict[str, float]:
    timings: list[float] = []
    lock = threading.Lock()
    started = time.perf_counter()
    for r in range(rounds):
        threads = [threading.Thread(target=conversation, args=(stack, r * concurrency + k, timings, lock))
                   for k in range(concurrency)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    elapsed = time.perf_counter() - started
    ordered = sorted(timings)
    return {
        "messages": len(timings),
        "p50 ms": statistics.median(ordered) * 1000,
        "p95 ms": ordered[int(0.95 * (len(ordered) - 1))] * 1000,
        "messages/s": len(timings) / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server (default: SQLite)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of conversations per concurrency level")
    args = parser.parse_args()
    db = fresh_database("court_latency", args.postgres)
    db.migrate()
    seed(db, today=NOW.date())
    model = ensure_model(quiet=True)
    with Stack(model, database_url=db.url, extra_env={"COURT_FAKE_NOW": NOW.isoformat()}) as stack:
        stack.say("warm-up", "你好")
        results = {c: run(stack, c, args.rounds) for c in (1, 20)}
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"\nRasa + action server over HTTP, {backend}; 10 messages per conversation")
    print(f"{'metric':<14}{'1 conversation (baseline)':>28}{'20 concurrent':>16}")
    for metric in ("messages", "p50 ms", "p95 ms", "messages/s"):
        print(f"{metric:<14}{results[1][metric]:>28.1f}{results[20][metric]:>16.1f}")


if __name__ == "__main__":
    main()
