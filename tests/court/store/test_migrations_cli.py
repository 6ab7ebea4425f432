import datetime as dt
import os
import stat
import subprocess
import sys

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError

from court.records import journal
from court.store.db import alembic_config


def test_migrations_go_down_and_up_again(db):
    cfg = alembic_config(db.url)
    command.downgrade(cfg, "base")
    assert "appointments" not in inspect(db.engine).get_table_names()
    command.upgrade(cfg, "head")
    assert {"appointments", "audit_log", "outbox", "handoffs"} <= set(inspect(db.engine).get_table_names())


def test_admin_cli_migrates_seeds_and_reports(tmp_path):
    env = os.environ | {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "court.admin.cli", *args], env=env, capture_output=True, text=True,
                              check=False)

    assert cli("migrate").returncode == 0
    seeded = cli("seed")
    assert seeded.returncode == 0 and "service_points=115" in seeded.stdout
    status = cli("status")
    assert "service_points: 115" in status.stdout and "appointments: 0" in status.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("service_points:\n  - code: X\n", encoding="utf-8")
    refused = cli("load-roster", str(bad))
    assert refused.returncode == 1 and "名册数据有误" in refused.stderr
    # systemd's OnFailure= for a unit it gave up on: the desk hears of it.
    down = cli("service-down", "court-rasa@5015.service")
    assert down.returncode == 0 and "对话助手" in down.stdout
    from court.hotline import delivery_alerts
    from court.store.db import Database

    db = Database(env["DATABASE_URL"])
    with db.reader() as s:
        [alert] = delivery_alerts.pending(s)
    db.dispose()
    assert (alert.who, alert.name, alert.push) == ("系统", "对话助手", "systemd gave up restarting it")


def test_migration_0007_takes_chat_ids_out_of_the_audit_log(db):
    cfg = alembic_config(db.url)
    command.downgrade(cfg, "0006")
    with db.engine.begin() as conn:
        for actor in ("bot:tg-6161", "bot:outbox", "desk:li.min"):
            conn.execute(text("INSERT INTO audit_log (at, actor, action, entity_type, entity_id) "
                              "VALUES (:at, :actor, 'handoff.request', 'handoff', 1)"),
                         {"at": dt.datetime(2026, 11, 1), "actor": actor})
    command.upgrade(cfg, "head")
    with db.engine.connect() as conn:
        actors = set(conn.execute(text("SELECT actor FROM audit_log")).scalars())
    assert {journal.chat_actor("tg-6161"), "bot:outbox", "desk:li.min"} <= actors
    assert not [a for a in actors if "6161" in a]
    with pytest.raises(DBAPIError, match="audit_log_append_only"):  # still append-only
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET actor = 'x'"))


def test_the_cli_creates_var_owner_only_and_tightens_what_was_left_readable(tmp_path):
    var = tmp_path / "var"
    (var / "logs").mkdir(parents=True)
    old_log = var / "logs" / "rasa.log"
    old_log.write_text("old", encoding="utf-8")
    old_log.chmod(0o644)
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"COURT_VAR_DIR": str(var)}
    done = subprocess.run(["sh", "-c", f"umask 022 && {sys.executable} -m court.admin.cli migrate"], env=env,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE((var / "court.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    assert stat.S_IMODE(old_log.stat().st_mode) == 0o600
