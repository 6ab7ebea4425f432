"""Alembic environment: the URL comes from the caller's config or DATABASE_URL."""
from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from court.core import settings
from court.store.schema import metadata

config = context.config


def _url() -> str:
    return config.get_main_option("sqlalchemy.url") or settings.database_url()


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = create_engine(_url(), future=True)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
