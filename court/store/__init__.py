"""Storage: the schema (``schema``), engines and transactions (``db``), migrations."""
from court.store.db import Database, IntegrityConflict

__all__ = ["Database", "IntegrityConflict"]
