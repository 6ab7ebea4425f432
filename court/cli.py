"""court-admin: the clerk's command line for the court database.

    python -m court.cli migrate            # create or upgrade the schema
    python -m court.cli seed [--no-demo]   # load Heihe's places, courts, demo roster
    python -m court.cli load-roster FILE   # load the court's own service points and mediators
    python -m court.cli status             # what the database holds
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sqlalchemy import func, select

from court.errors import CourtError
from court.seeding.roster import load_roster_file
from court.seeding.seed import seed
from court.store.db import Database
from court.store.schema import Appointment, Case, Mediator, Place, ServicePoint


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="court-admin", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the schema")
    p_seed = sub.add_parser("seed", help="load places, courts and the demo roster (idempotent)")
    p_seed.add_argument("--no-demo", action="store_true", help="skip the demo service points and mediators")
    p_roster = sub.add_parser("load-roster", help="load service points and mediators from a YAML file")
    p_roster.add_argument("file", type=Path)
    sub.add_parser("status", help="count what the database holds")
    args = parser.parse_args(argv)

    db = Database()
    try:
        if args.command == "migrate":
            db.migrate()
            print("schema up to date")
        elif args.command == "seed":
            report = seed(db, demo=not args.no_demo)
            print(f"places={report.places} courts={report.courts} "
                  f"service_points={report.service_points} mediators={report.mediators}")
        elif args.command == "load-roster":
            with db.transaction() as session:
                points, mediators = load_roster_file(session, args.file, actor="clerk:cli")
            print(f"loaded service_points={points} mediators={mediators}")
        elif args.command == "status":
            with db.reader() as session:
                for label, model in (("places", Place), ("service_points", ServicePoint),
                                     ("mediators", Mediator), ("cases", Case), ("appointments", Appointment)):
                    print(f"{label}: {session.execute(select(func.count()).select_from(model)).scalar_one()}")
    except CourtError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    finally:
        db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
