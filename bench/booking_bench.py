"""Booking throughput and nearest-point lookup time, PostgreSQL beside SQLite.

    python -m bench.booking_bench --postgres postgresql+psycopg2://court@127.0.0.1:55432/postgres

Each backend gets a fresh migrated, seeded database. Figures:
- bookings/s, one transaction per booking (new resident, case, appointment, audit, pushes),
  sequential and with 8 threads booking different slots;
- nearest-point lookup (distance ranking + free-slot check), p50/p95 in ms;
- place-name resolution, p50/p95 in ms.
The SQLite column is the embedded default, the baseline PostgreSQL is compared to.
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import threading
import time

from sqlalchemy import select

from bench.databases import fresh_database
from court.booking import engine, slots
from court.core.settings import LOCAL_TZ
from court.records import cases, residents
from court.reference.places import HEIHE_BOUNDS, PlaceDirectory
from court.seeding.seed import seed
from court.store.db import Database
from court.store.schema import ServicePoint

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=LOCAL_TZ)
PLACE_QUERIES = ["爱辉区西岗子", "西岗子镇", "俺在北安市和平街道", "五大连池龙镇", "嫩江伊拉哈", "孙吴县辰清镇",
                 "逊克奇克", "红星农场", "海兰街道", "兴安"]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _book_one(db: Database, point_id: int, start: dt.datetime, phone: int) -> None:
    with db.transaction() as s:
        resident = residents.record_consent(s)
        residents.set_contact(s, resident, name="测试居民", phone=str(phone))
        case = cases.open_case(s, dispute_type="neighbor", summary="基准测试", actor="bench", resident=resident)
        engine.book(s, case, point_id=point_id, starts_at=start, actor="bench", now=NOW)


def _slots(db: Database, n: int) -> list[tuple[int, dt.datetime]]:
    """``n`` distinct free (point, start) pairs, spread over every point."""
    per_point: list[list[tuple[int, dt.datetime]]] = []
    with db.reader() as s:
        for point in s.execute(select(ServicePoint).order_by(ServicePoint.id)).scalars():
            starts = sorted({x.starts_at for x in slots.free_slots(
                s, point.id, dt.date(2026, 12, 1), dt.date(2026, 12, 31), now=NOW)})
            per_point.append([(point.id, start) for start in starts])
    round_robin = [pair for row in zip(*per_point) for pair in row] if per_point else []
    return round_robin[:n]


def run_backend(kind: str, pg_url: str | None, n: int, lookups: int) -> dict[str, float]:
    db = fresh_database("court_bench", pg_url if kind == "postgresql" else None)
    db.migrate()
    seed(db, today=NOW.date())
    picked = _slots(db, 2 * n)
    sequential, parallel = picked[:n], picked[n:]
    phones = iter(range(13900000001, 13999999999))

    t0 = time.perf_counter()
    for point_id, start in sequential:
        _book_one(db, point_id, start, next(phones))
    seq_rate = len(sequential) / (time.perf_counter() - t0)

    lock = threading.Lock()
    queue = list(parallel)

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                point_id, start = queue.pop()
                phone = next(phones)
            _book_one(db, point_id, start, phone)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    par_rate = len(parallel) / (time.perf_counter() - t0)

    rng = random.Random(7)
    lat_min, lat_max, lng_min, lng_max = HEIHE_BOUNDS
    nearest_ms: list[float] = []
    resolve_ms: list[float] = []
    with db.reader() as s:
        directory = PlaceDirectory.load(s)
        for i in range(lookups):
            lat, lng = rng.uniform(lat_min + 0.8, lat_max - 0.8), rng.uniform(lng_min + 0.6, lng_max - 0.6)
            t0 = time.perf_counter()
            slots.nearest_points(s, lat, lng, limit=3, now=NOW)
            nearest_ms.append((time.perf_counter() - t0) * 1000)
            query = PLACE_QUERIES[i % len(PLACE_QUERIES)]
            t0 = time.perf_counter()
            try:
                directory.resolve(query)
            except Exception:  # ambiguity is an answer too
                pass
            resolve_ms.append((time.perf_counter() - t0) * 1000)
    db.dispose()
    return {
        "bookings/s (1 thread)": seq_rate,
        "bookings/s (8 threads)": par_rate,
        "nearest p50 ms": statistics.median(nearest_ms),
        "nearest p95 ms": _percentile(nearest_ms, 0.95),
        "place resolve p50 ms": statistics.median(resolve_ms),
        "place resolve p95 ms": _percentile(resolve_ms, 0.95),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", required=True, help="admin URL of a PostgreSQL server")
    parser.add_argument("--bookings", type=int, default=200)
    parser.add_argument("--lookups", type=int, default=200)
    args = parser.parse_args()
    results = {kind: run_backend(kind, args.postgres, args.bookings, args.lookups) for kind in ("sqlite", "postgresql")}
    print(f"\n{'metric':<26}{'SQLite (baseline)':>20}{'PostgreSQL':>14}")
    for metric in results["sqlite"]:
        print(f"{metric:<26}{results['sqlite'][metric]:>20.2f}{results['postgresql'][metric]:>14.2f}")


if __name__ == "__main__":
    main()
