"""One clock: nothing in the court's code reads the time of day except court/core/clock.py, so a
test or a replay that sets the court's clock sets it for every rule and every write."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("court", "actions", "bot", "desk", "webchat", "rasa_ext", "rasa_sdk_plugins")
WALL_CLOCK = re.compile(r"\b(datetime\.now|datetime\.utcnow|datetime\.today|date\.today|time\.time|"
                        r"time\.localtime|time\.gmtime|func\.now|CURRENT_TIMESTAMP)\b")


def test_only_the_court_clock_reads_the_time_of_day() -> None:
    readers = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "court" / "core" / "clock.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                if WALL_CLOCK.search(code):
                    readers.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert readers == [], "read the time through court.core.clock.now():\n" + "\n".join(readers)
