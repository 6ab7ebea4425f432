"""Where the Rasa server's and the action server's CPU goes under the natural-language load.

    python -m bench.profile_stack [--postgres URL] [--closed 20] [--seconds 40] [--out var/profile]

Starts the same stack as bench/latency_bench.py, warms it up, then runs its closed
loop while py-spy (`pip install py-spy`; not a requirement of the project) samples
each server's process (200 Hz, idle stacks left out). Writes one py-spy "raw"
(collapsed stacks) file per process to --out and prints the top functions by
inclusive and by own share of the samples, so a change can be aimed at the biggest
costs. Profiling slows the servers a little; the benchmark, not this, gives the figures.
"""
from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench.databases import fresh_database
from bench.latency_bench import NOW, Tally, conversation, measure
from court.seeding.seed import seed
from stack.processes import Stack
from stack.train import ensure_model


def summarise(raw: Path, top: int) -> str:
    """Top frames of a collapsed-stack file, by inclusive and by own (leaf) samples."""
    inclusive: Counter = Counter()
    own: Counter = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = stack.split(";")[1:]  # the first is the thread
        for frame in set(frames):
            inclusive[frame] += n
        if frames:
            own[frames[-1]] += n
    lines = [f"{raw.name}: {total} samples"]
    for title, counter in (("inclusive", inclusive), ("own", own)):
        lines.append(f"  top {top} {title}:")
        for frame, n in counter.most_common(top):
            lines.append(f"    {100 * n / total:5.1f} %  {frame}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="admin URL of a PostgreSQL server (default: SQLite)")
    parser.add_argument("--closed", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=40)
    parser.add_argument("--out", type=Path, default=Path("var/profile"))
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    args.out.mkdir(parents=True, exist_ok=True)
    db = fresh_database("court_profile", args.postgres)
    db.migrate()
    seed(db, today=NOW.date())
    model = ensure_model(quiet=True)
    with Stack(model, database_url=db.url, extra_env={"COURT_FAKE_NOW": NOW.isoformat()}) as stack:
        for i in range(3):
            conversation(stack, i, Tally(), False, time.monotonic() + 120, random.Random(i))
        spies = []
        for proc in stack.procs:
            name = "rasa" if "--enable-api" in proc.args else "actions" if "actions" in proc.args else None
            if name:
                spies.append((name, subprocess.Popen(
                    [pyspy, "record", "--pid", str(proc.pid), "--rate", "200", "--format", "raw",
                     "--duration", str(int(args.seconds)), "--nonblocking", "--output",
                     str(args.out / f"{name}.txt")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
        result = measure(stack, rate=None, closed=args.closed, seconds=args.seconds - 6, seed_=99)
        for _, spy in spies:
            spy.wait(timeout=120)
    print({k: round(v, 1) for k, v in result.items()})
    for name, _ in spies:
        print(summarise(args.out / f"{name}.txt", args.top))


if __name__ == "__main__":
    main()
