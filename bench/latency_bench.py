"""Message latency and throughput through a running Rasa server + action server
(HTTP, the authenticated REST channel), with residents' own words.

    python -m bench.latency_bench [--postgres URL] [--rates 5,10,20,40] [--seconds 30]
                                  [--closed 20] [--baseline FILE] [--save FILE]

Every conversation is typed the way a resident types it: a greeting, a dispute
story, "我想约调解员", consent, a name, a phone number, a town, "下周三上午", a
press on the first offered time (a button press, as on Telegram) and a typed
confirmation. No `/intent` payloads: each message goes through NLU.

Two kinds of load:
- open loop: conversations arrive at random (Poisson) so that the offered load is
  the given messages per second; each resident thinks for a random while
  (mean 2 s) before the next message, whatever the server's speed;
- closed loop: N conversations type without thinking, so the stack runs flat out.

For each it prints p50/p95/p99, achieved messages/s, errors, and the CPU
milliseconds per message that each process (Rasa, the action server) spent,
read from /proc. With --baseline FILE (a JSON saved by --save from an earlier
run) the figures are printed side by side with that baseline.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import requests

from bench.databases import fresh_database
from court.core.settings import LOCAL_TZ
from court.seeding.seed import seed
from stack.processes import Stack
from stack.topology import Topology
from stack.train import ensure_model

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=LOCAL_TZ)
MESSAGES_PER_CONVERSATION = 10
THINK_MEAN_S = 2.0
PLACES = ["爱辉区西岗子镇", "北安市和平街道", "嫩江伊拉哈镇", "孙吴县辰清镇", "逊克县奇克镇", "五大连池龙镇", "瑷珲镇",
          "海兰街道", "二井镇", "克林镇"]
STORIES = ["俺家楼上天天往下漏水，找他好几回了也不管，这事咋整",
           "老板拖欠俺三个月工资不给，去要就说没钱，俺该咋办",
           "前年借给朋友两万块钱写了借条，到期了一直拖着不还，打电话也不接",
           "物业费年年涨，暖气还不热，找物业也不管，能不能少交点",
           "骑电动车让人给撞了，腿上缝了好几针，对方不想赔"]
NAMES = ["王桂芝", "李建国", "张秀英", "刘德全", "赵淑华"]
GREETINGS = ["你好", "在吗", "您好，问个事"]
CONFIRMS = ["对，就这个", "确认", "行，就这么定了"]


@dataclass
class Tally:
    """Latencies of the messages sent inside the measured window [start, stop)."""
    start: float = 0.0
    stop: float = float("inf")
    latencies: list[float] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sent_at: float, seconds: Optional[float], error: str = "") -> None:
        if not self.start <= sent_at < self.stop:
            return
        with self.lock:
            if error:
                self.errors[error] += 1
            else:
                self.latencies.append(seconds or 0.0)


def script(i: int) -> list[Optional[str]]:
    """The resident's typed messages; None marks the press on the first offered time."""
    return [GREETINGS[i % len(GREETINGS)], STORIES[i % len(STORIES)], "我想约调解员", "同意", NAMES[i % len(NAMES)],
            f"139{i % 10}{(4561237 + i * 7919) % 10_000_000:07d}", PLACES[i % len(PLACES)], "下周三上午", None,
            CONFIRMS[i % len(CONFIRMS)]]


def conversation(stack: Stack, i: int, tally: Tally, think: bool, stop_at: float, rng: random.Random) -> None:
    me = f"bench-{uuid.uuid4().hex[:12]}"
    replies: list[dict] = []
    for message in script(i):
        if think:
            time.sleep(rng.expovariate(1 / THINK_MEAN_S))
        if time.monotonic() > stop_at:
            return
        sent_at = time.monotonic()
        if message is None:  # the resident presses the first offered time
            offers = [b["payload"] for r in replies for b in r.get("buttons") or [] if "slot_token" in b["payload"]]
            if not offers:
                tally.add(sent_at, None, "no time offered")
                return
            message = offers[0]
        started = time.perf_counter()
        try:
            replies = stack.say(me, message, timeout=60)
        except requests.Timeout:
            tally.add(sent_at, None, "timeout 60 s")
            return
        except requests.RequestException as exc:
            tally.add(sent_at, None, type(exc).__name__)
            return
        tally.add(sent_at, time.perf_counter() - started, "" if replies else "no answer")
        if message in PLACES:  # a name shared by two places: the resident presses the first one offered
            choices = [b["payload"] for r in replies for b in r.get("buttons") or []]
            if choices:
                sent_at, started = time.monotonic(), time.perf_counter()
                replies = stack.say(me, choices[0], timeout=60)
                tally.add(sent_at, time.perf_counter() - started, "" if replies else "no answer")


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """User + system CPU of each stack process (and its children), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for proc in stack.procs:
        # Replicas add up: CPU per message is the whole tier's.
        name = ("rasa" if "--enable-api" in proc.args else "actions" if "actions" in proc.args
                else Path(proc.args[0]).name if Path(proc.args[0]).name in ("haproxy", "redis-server") else None)
        if name is None:
            continue
        try:
            fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, cutime, cstime are fields 14-17 of stat; index 11-14 after the name.
        out[name] = out.get(name, 0.0) + sum(int(f) for f in fields[11:15]) / tick
    return out


def measure(stack: Stack, *, rate: Optional[float], closed: int, seconds: float, seed_: int) -> dict[str, float]:
    """One load step. Open loop ramps up for one conversation's length (think time
    included) before the window opens, so the window sees the steady offered rate."""
    rng = random.Random(seed_)
    started = time.monotonic()
    ramp = MESSAGES_PER_CONVERSATION * THINK_MEAN_S if rate is not None else 5.0
    tally = Tally(start=started + ramp, stop=started + ramp + seconds)
    stop_at = tally.stop
    cpu_before: dict[str, float] = {}
    threading.Timer(ramp, lambda: cpu_before.update(cpu_seconds(stack))).start()
    counter = iter(range(10**9))
    with ThreadPoolExecutor(max_workers=512) as pool:
        if rate is None:  # closed loop: each worker starts the next conversation when one ends
            def loop() -> None:
                while time.monotonic() < stop_at:
                    conversation(stack, next(counter), tally, False, stop_at, random.Random(rng.random()))
            for _ in range(closed):
                pool.submit(loop)
        else:  # open loop: Poisson arrivals of conversations
            arrivals = rate / MESSAGES_PER_CONVERSATION
            at = started
            while True:
                at += rng.expovariate(arrivals)
                if at > stop_at:
                    break
                time.sleep(max(0.0, at - time.monotonic()))
                pool.submit(conversation, stack, next(counter), tally, True, stop_at, random.Random(rng.random()))
    cpu_after = cpu_seconds(stack)
    elapsed = seconds
    ordered = sorted(tally.latencies)
    n = len(ordered)

    def pct(q: float) -> float:
        return ordered[min(n - 1, int(q * n))] * 1000 if n else float("nan")

    result = {"messages": n, "errors": sum(tally.errors.values()), "p50 ms": pct(0.50), "p95 ms": pct(0.95), "p99 ms": pct(0.99),
              "msg/s": n / elapsed}
    if tally.errors:
        print(f"errors: {dict(tally.errors)}")
    for name in sorted(cpu_after):
        used = cpu_after[name] - cpu_before.get(name, 0.0)
        result[f"cpu ms/msg {name}"] = used * 1000 / n if n else float("nan")
    return result


METRICS = ["messages", "errors", "p50 ms", "p95 ms", "p99 ms", "msg/s", "cpu ms/msg rasa", "cpu ms/msg actions",
           "cpu ms/msg haproxy", "cpu ms/msg redis-server"]


def print_table(results: dict[str, dict[str, float]], baseline: dict[str, dict[str, float]], backend: str) -> None:
    print(f"\nRasa + action server over HTTP, {backend}; natural-language messages, "
          f"{MESSAGES_PER_CONVERSATION} per conversation")
    for load, figures in results.items():
        base = baseline.get(load, {})
        print(f"\n{load}" + ("   (now | baseline)" if base else ""))
        for metric in METRICS:
            if metric not in figures:
                continue
            now = f"{figures[metric]:>10.1f}"
            print(f"  {metric:<22}{now}" + (f"  | {base[metric]:>10.1f}" if metric in base else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server (default: SQLite)")
    parser.add_argument("--rates", default="5,10,20,40", help="open-loop offered loads, messages/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=30, help="length of each load step")
    parser.add_argument("--closed", type=int, default=20, help="conversations in the closed loop (0: none)")
    parser.add_argument("--baseline", type=Path, help="JSON saved by an earlier --save, printed beside")
    parser.add_argument("--save", type=Path, help="save this run's figures as JSON")
    parser.add_argument("--replicas", type=int, default=0,
                        help="N Rasa servers behind HAProxy with Redis's lock store (stack/topology.py; "
                             "needs --postgres); 0: the plain stack")
    parser.add_argument("--action-replicas", type=int, default=1, help="action servers behind HAProxy")
    args = parser.parse_args()
    if args.replicas and not args.postgres:
        parser.error("--replicas needs --postgres: replicas share their trackers in PostgreSQL")
    db = fresh_database("court_latency", args.postgres)
    db.migrate()
    seed(db, today=NOW.date())
    model = ensure_model(quiet=True)
    results: dict[str, dict[str, float]] = {}
    env = {"COURT_FAKE_NOW": NOW.isoformat()}
    stack = (Topology(model, database_url=db.url, rasa_replicas=args.replicas,
                      action_replicas=args.action_replicas, extra_env=env)
             if args.replicas else Stack(model, database_url=db.url, extra_env=env))
    with stack:
        for i in range(3):  # warm-up: load the model's lazy parts and the database's caches
            conversation(stack, i, Tally(), False, time.monotonic() + 120, random.Random(i))
        for k, rate in enumerate(float(r) for r in args.rates.split(",") if r):
            results[f"open loop, {rate:g} msg/s offered"] = measure(stack, rate=rate, closed=0,
                                                                    seconds=args.seconds, seed_=k)
        if args.closed:
            results[f"closed loop, {args.closed} conversations"] = measure(stack, rate=None, closed=args.closed,
                                                                          seconds=args.seconds, seed_=99)
    baseline = json.loads(args.baseline.read_text()) if args.baseline else {}
    backend = "PostgreSQL" if args.postgres else "SQLite"
    if args.replicas:
        backend += f", {args.replicas} Rasa servers and {args.action_replicas} action servers behind HAProxy"
    print_table(results, baseline, backend)
    if args.save:
        args.save.write_text(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
