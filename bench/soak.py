"""Soak: residents book mediators through Telegram for a long while, and a part of the
stack is killed every few minutes. Not part of CI: `make soak` (30 minutes).

    python -m bench.soak [--minutes 30] [--residents 6] [--kill-every 150] [--postgres URL]

Each resident runs whole conversations in their own words through the local Bot API
fake, the Telegram front end, Rasa, the action server and the court's database:
/start, a story, 我想约调解员, 同意, a name, the contact and location buttons, 明天上午,
a press on the first offered time and on 确认, with a few seconds' thought between
messages. Every `--kill-every` seconds one part (action server, Rasa, front end,
desk, housekeeping) is SIGKILLed, or the action server is SIGSTOPped (a hang); the
launcher's supervisor brings it back.

The figures: messages answered at once, answered after the outage apology (kept and
answered later), never answered; bookings confirmed in the chat and found in the
database once (lost or doubled: goal 0); time to recover per part.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import signal
import statistics
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from sqlalchemy import func, select

from bench.databases import fresh_database
from bench.latency_bench import NAMES, STORIES
from court.core.clock import FileClock
from court.core.settings import LOCAL_TZ
from court.seeding.seed import seed
from court.store.schema import Appointment, Case, Place
from stack.processes import Stack
from stack.train import ensure_model

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=LOCAL_TZ)  # a Monday: 明天上午 is a working morning
TOWNS = ["西岗子镇", "瑷珲镇", "二井镇", "辰清镇", "龙镇"]
APOLOGY = "助手暂时出了点问题"
BOT_TOKEN = "123456:heihe-court-soak-token"
BOT_ENV = {"BOT_OUTBOX_INTERVAL": "0.5", "BOT_RETRY_INTERVAL": "1", "BOT_POLL_TIMEOUT": "2",
           "BOT_RATE_MESSAGES": "30", "BOT_RATE_WINDOW": "10"}
TARGETS = ["actions", "actions:hang", "rasa", "bot", "desk", "housekeeping"]
PATIENCE_S = 300  # a resident waits this long for an answer before giving up on the conversation


@dataclass
class Tally:
    at_once: int = 0
    after_apology: int = 0
    unanswered: int = 0
    references: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, outcome: str) -> None:
        with self.lock:
            setattr(self, outcome, getattr(self, outcome) + 1)


def _has_button(label: str):  # type: ignore[no-untyped-def]
    return lambda m: any(b.get("text") == label for row in (m.get("reply_markup") or {}).get("inline_keyboard", [])
                         for b in row)


def _turn(user, act, expect, tally: Tally) -> Optional[dict]:  # type: ignore[no-untyped-def]
    """One message and its answer; counts whether the apology came first."""
    mark = user.mark()
    act()
    try:
        answer = user.wait_for(expect, after=mark, timeout=PATIENCE_S)
    except AssertionError:
        tally.add("unanswered")
        said = [m.get("text") or "" for m in user.history() if m["message_id"] > mark][:1]
        heard = [(m.get("text") or "")[:40] for m in user.inbox()][-3:]
        print(f"  {time.strftime('%H:%M:%S')} unanswered: user {user.id} said {said}, expected "
              f"{expect if isinstance(expect, str) else 'a button'}, last heard {heard}", flush=True)
        return None
    apologised = any(APOLOGY in (m.get("text") or "") for m in user.inbox()
                     if mark < m["message_id"] < answer["message_id"])
    tally.add("after_apology" if apologised else "at_once")
    return answer


def _conversation(user, town: str, rng: random.Random, tally: Tally) -> None:  # type: ignore[no-untyped-def]
    think = lambda: time.sleep(rng.expovariate(1 / 3.0))  # noqa: E731 - a resident reading and typing
    steps = [
        (lambda: user.command("start"), "诉前调解助手"),
        (lambda: user.send(rng.choice(STORIES)), _has_button("帮我预约")),
        (lambda: user.send("我想约调解员"), "同意"),
        (lambda: user.send("同意"), "称呼"),
        (lambda: user.send(rng.choice(NAMES)), "手机号"),
        (lambda: user.share_contact(f"+86 139 {rng.randrange(1000, 9999)} {rng.randrange(1000, 9999)}"), "乡镇"),
        (lambda: user.send(town), "哪天"),
        (lambda: user.send("明天上午"), "请选一个时间"),
    ]
    answer = None
    for act, expect in steps:
        answer = _turn(user, act, expect, tally)
        if answer is None:
            return
        think()
    for _ in range(3):  # another resident may take the time first: the bot offers new ones
        first = answer["reply_markup"]["inline_keyboard"][0][0]["text"]
        shown = _turn(user, lambda: user.press(first, message_id=answer["message_id"]),
                      lambda m: _has_button("确认")(m) or "请选一个时间" in (m.get("text") or ""), tally)
        if shown is None:
            return
        think()
        if "请选一个时间" in (shown.get("text") or ""):
            answer = shown
            continue
        booked = _turn(user, lambda: user.press("确认", message_id=shown["message_id"]),
                       lambda m: "预约成功" in (m.get("text") or "") or "请选一个时间" in (m.get("text") or ""), tally)
        if booked is None or "预约成功" in (booked.get("text") or ""):
            break
        answer = booked
    else:
        return
    if booked is not None and "预约成功" in (booked.get("text") or ""):
        with tally.lock:
            tally.references.append(booked["text"].split("案件编号：")[1].split()[0])


def _killer(stack: Stack, every: float, stop: threading.Event, rng: random.Random, kills: Counter) -> None:
    while not stop.wait(every):
        target = rng.choice(TARGETS)
        name, _, how = target.partition(":")
        stack.kill(name, signal.SIGSTOP if how == "hang" else signal.SIGKILL)
        kills[target] += 1
        print(f"  {time.strftime('%H:%M:%S')} killed {target}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--residents", type=int, default=6)
    parser.add_argument("--kill-every", type=float, default=150)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (default: SQLite)")
    parser.add_argument("--seed", type=int, default=12368)
    args = parser.parse_args()
    from tools.fake_telegram.driver import FakeTelegram

    db = fresh_database("court_soak", args.postgres)
    db.migrate()
    seed(db, today=NOW.date())
    clock = FileClock(Path(tempfile.mkdtemp()) / "now")
    clock.set(NOW)
    env = {"COURT_FAKE_NOW": clock.env, "HOUSEKEEPING_INTERVAL": "1"}
    rng = random.Random(args.seed)
    tally, kills = Tally(), Counter()
    print(f"soak: {args.residents} residents for {args.minutes:g} min, a kill every {args.kill_every:g} s, "
          f"{'PostgreSQL' if args.postgres else 'SQLite'}", flush=True)
    with Stack(ensure_model(quiet=True), database_url=db.url, extra_env=env) as stack, \
            FakeTelegram(token=BOT_TOKEN, bot_username="heihe_court_bot") as tg:
        stack.start_desk()
        stack.start_bot(token=BOT_TOKEN, api_base=tg.api_root, extra_env=BOT_ENV)
        supervisor = stack.supervise(interval=1.0)
        end = time.monotonic() + args.minutes * 60
        stop = threading.Event()
        killer = threading.Thread(target=_killer, args=(stack, args.kill_every, stop, rng, kills), daemon=True)
        killer.start()

        def resident(index: int) -> None:
            local = random.Random(args.seed + index)
            n = 0
            while time.monotonic() < end:
                n += 1
                user = tg.user(900000 + index * 1000 + n, first_name="居民")
                _conversation(user, local.choice(TOWNS), local, tally)

        workers = [threading.Thread(target=resident, args=(i,)) for i in range(args.residents)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        stop.set()
        recoveries = defaultdict(list)
        for r in supervisor.recoveries:
            recoveries[r.name].append(r.seconds)
        gave_up = supervisor.gave_up
    with db.reader() as s:
        found = Counter(s.execute(select(Case.reference).where(Case.reference.in_(tally.references))).scalars())
        appointments = dict(s.execute(select(Case.reference, func.count(Appointment.id)).join(Appointment)
                                      .where(Case.reference.in_(tally.references)).group_by(Case.reference)).all())
        cases_total = s.execute(select(func.count()).select_from(Case)).scalar_one()
        assert s.execute(select(func.count()).select_from(Place)).scalar_one()  # the seed is there
    lost = [r for r in tally.references if found[r] != 1]
    doubled = [r for r, n in appointments.items() if n != 1]
    sent = tally.at_once + tally.after_apology + tally.unanswered
    print("\n| figure | value |\n|---|---|")
    print(f"| messages sent | {sent} |")
    print(f"| answered at once | {tally.at_once} |")
    print(f"| answered after the apology (kept, answered later) | {tally.after_apology} |")
    print(f"| never answered (waited {PATIENCE_S} s) | {tally.unanswered} |")
    print(f"| bookings confirmed in the chat | {len(tally.references)} |")
    print(f"| cases in the database | {cases_total} |")
    print(f"| bookings lost (confirmed, not in the database) | {len(lost)} |")
    print(f"| bookings doubled (more than one appointment) | {len(doubled)} |")
    print(f"| kills | {', '.join(f'{k} {v}' for k, v in sorted(kills.items())) or 'none'} |")
    for name, secs in sorted(recoveries.items()):
        print(f"| {name} back after (median / max) | {statistics.median(secs):.1f} / {max(secs):.1f} s |")
    print(f"| supervisor gave up | {gave_up or 'no'} |")


if __name__ == "__main__":
    main()
