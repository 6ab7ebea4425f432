"""A realistic synthetic year of disputes, for the statistics' tests and benchmarks.

``generate`` fills a seeded database (places and the demo roster) with residents,
cases, appointments, outcomes, handoffs and decline audit entries, inserted in
bulk rather than through the booking engine, and returns what it wrote as plain
Python (``GeneratedTruth``) so tests can compute expected figures independently.

Everything is marked synthetic where the schema allows: case references start
with ``SY``, summaries and notes say 合成数据, conversations are ``sy-<id>``.
The generator's "now" is the end of the period: appointments after it are still
booked or accepted, waiting handoffs are still waiting.

Modules: ``world`` (Heihe's shape and the seeded roster: points, mediators and their
slots), ``year`` (the period, its ids and ``GeneratedTruth``), ``cases`` (the residents'
cases), ``appointments`` (each booked case's appointments, outcomes and declines),
``handoffs`` (conversations handed to agents), ``delegations`` (委派调解) and ``writing``
(the bulk inserts). Callers import from here:
``from court.seeding.synthetic import generate``.
"""
from __future__ import annotations

import datetime as dt
import random

from sqlalchemy.orm import Session

from court.seeding.synthetic import cases as _cases
from court.seeding.synthetic import delegations, writing
from court.seeding.synthetic.year import MARK, REFERENCE_PREFIX, GeneratedTruth, Year

__all__ = ["MARK", "REFERENCE_PREFIX", "GeneratedTruth", "generate"]


def generate(session: Session, *, cases: int, start: dt.date, end: dt.date, seed: int = 1,
             delegated: int = 0) -> GeneratedTruth:
    """Insert ``cases`` synthetic cases created between two local dates (inclusive), with
    their residents, appointments, outcomes, handoffs and decline audit entries; then
    ``delegated`` cases the court delegated (委派调解)."""
    if cases < 0 or end < start:
        raise ValueError("need cases >= 0 and start <= end")
    year = Year(session, random.Random(seed), start, end)
    _cases.run(year, cases)
    # Their own random stream: the residents' cases stay what a seed always gave.
    delegations.delegate(year, delegated, random.Random(seed + 7919))
    writing.insert(session, year.truth)
    return year.truth
