"""Writing a synthetic year: bulk inserts with the ids the generator chose, parents first."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from court.seeding.synthetic.year import GeneratedTruth
from court.store.schema import Appointment, AuditEntry, Case, Delegation, DelegationParty, Handoff, Outcome, Resident

_CHUNK = 5000


def insert(session: Session, truth: GeneratedTruth) -> None:
    """Bulk inserts with the ids the generator chose, parents first; PostgreSQL's sequences follow."""
    for model, rows in ((Resident, truth.residents), (Case, truth.cases), (Appointment, truth.appointments),
                        (Outcome, truth.outcomes + truth.delegated_outcomes), (Handoff, truth.handoffs),
                        (AuditEntry, truth.audit), (Delegation, truth.delegations),
                        (DelegationParty, truth.delegation_parties)):
        table = model.__table__
        # Columns the database fills itself (e.g. cases.lookup_failures) are left to it.
        columns = [c.name for c in table.columns if c.server_default is None]
        for i in range(0, len(rows), _CHUNK):
            session.execute(table.insert(), [{c: row.get(c) for c in columns} for row in rows[i:i + _CHUNK]])
        if rows and session.get_bind().dialect.name == "postgresql":
            session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                 f"(SELECT MAX(id) FROM {table.name}))"))
