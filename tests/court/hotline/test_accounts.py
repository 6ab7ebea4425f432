"""The hotline desk's accounts: creating one, signing in, lockouts, the command line."""
from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest

from court.core.errors import ValidationError
from court.hotline import accounts
from court.store.schema import DeskUser
from tests.court.hotline.helpers import PASSWORD, audits, new_user
from tests.factories import NOW


def test_create_user_hashes_the_password_and_validates(db):
    li = new_user(db, "li.min")
    assert (li.username, li.display_name, li.role, li.is_admin) == ("li.min", "李敏", "agent", False)
    with db.reader() as s:
        row = s.get(DeskUser, li.id)
        assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
        [entry] = audits(s, "desk_user.create")
        assert entry.actor == "test" and entry.after == {"username": "li.min", "role": "agent"}
    for username, password, role, message in [
        ("li.min", PASSWORD, "agent", "已经存在"),
        ("Li Min!", PASSWORD, "agent", "用户名"),
        ("wang", "short", "agent", "至少需要10个字符"),
        ("wang", PASSWORD, "boss", "角色"),
    ]:
        with pytest.raises(ValidationError) as err, db.transaction() as s:
            accounts.create_user(s, username, password, role=role, display_name="王芳", actor="test")
        assert message in err.value.message


def test_authenticate_locks_after_five_failures_and_records_logins(db):
    li = new_user(db, "li.min")
    with db.transaction() as s:
        assert accounts.authenticate(s, "nobody", PASSWORD, now=NOW) is None  # still spends a hash
        assert accounts.authenticate(s, "li.min", "wrong password", now=NOW) is None
        assert accounts.authenticate(s, " LI.MIN ", PASSWORD, now=NOW) == li
        assert s.get(DeskUser, li.id).last_login_at == NOW
    for _ in range(accounts.MAX_FAILED_LOGINS):
        with db.transaction() as s:  # each failure commits on its own, as a web request would
            assert accounts.authenticate(s, "li.min", "wrong password", now=NOW) is None
    with db.transaction() as s:
        assert s.get(DeskUser, li.id).locked_until == NOW + accounts.LOCKOUT
        # Locked: the right password does not help until the lock runs out.
        assert accounts.authenticate(s, "li.min", PASSWORD, now=NOW + dt.timedelta(minutes=14)) is None
        assert accounts.authenticate(s, "li.min", PASSWORD, now=NOW + dt.timedelta(minutes=15)) == li
        row = s.get(DeskUser, li.id)
        assert row.failed_logins == 0 and row.locked_until is None
        assert [e.actor for e in audits(s, "desk_user.locked")] == ["desk:li.min"]
        assert len(audits(s, "desk_user.login")) == 2


def test_get_user_only_returns_active_accounts(db):
    li = new_user(db, "li.min")
    with db.transaction() as s:
        assert accounts.get_user(s, li.id) == li
        assert accounts.get_user(s, 999_999) is None
        s.get(DeskUser, li.id).active = False
    with db.transaction() as s:
        assert accounts.get_user(s, li.id) is None
        assert accounts.authenticate(s, "li.min", PASSWORD, now=NOW) is None


def test_cli_adds_a_desk_user_with_the_password_from_the_environment(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = os.environ | {"DATABASE_URL": url}

    def cli(*args: str, password: str = PASSWORD) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "court.admin.cli", *args], env=env | {"DESK_PASSWORD": password}, capture_output=True,
                              text=True, check=False, stdin=subprocess.DEVNULL)

    assert cli("migrate").returncode == 0
    made = cli("add-desk-user", "li.min", "--role", "admin", "--name", "李敏")
    assert made.returncode == 0 and "li.min" in made.stdout and PASSWORD not in made.stdout
    short = cli("add-desk-user", "wang", "--role", "agent", "--name", "王芳", password="short")
    assert short.returncode == 1 and "至少需要10个字符" in short.stderr
    assert cli("add-desk-user", "li.min", "--name", "李敏").returncode == 1  # exists already
    from court.store.db import Database
    db = Database(url)
    try:
        with db.transaction() as s:
            user = accounts.authenticate(s, "li.min", PASSWORD, now=NOW)
            assert user is not None and user.role == "admin" and user.display_name == "李敏"
    finally:
        db.dispose()
