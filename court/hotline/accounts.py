"""The 12368 hotline desk's accounts: agents, clerks, admins and partners sign in with a
password (stored only as an argon2id hash), are locked out after repeated failures, and keep a
server-side session the desk app reads on every request.

Plain functions on a Session (like court/booking/engine.py); every change is audited in the
caller's transaction.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from court.core import clock
from court.core.errors import ValidationError
from court.core.validation import clean_text
from court.records import journal
from court.store.schema import (
    DeskRole,
    PartnerOrganisation,
)
from court.store.schema import (
    DeskSession as DeskSessionRow,
)
from court.store.schema import (
    DeskUser as DeskUserRow,
)

MIN_PASSWORD = 10
MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)

# Two letters allowed: pinyin surnames ("li", "wu") are real desk usernames.
_USERNAME = re.compile(r"^[a-z0-9_.-]{2,40}$")

_hasher = PasswordHasher()
# Verified against for unknown or locked accounts, so every failed login costs
# one hash and takes as long: timing does not tell which usernames exist.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


# --- users --------------------------------------------------------------------


@dataclass(frozen=True)
class DeskUser:
    """A signed-in desk user; no password hash, safe to keep in a web session."""

    id: int
    username: str
    display_name: str
    role: str
    organisation_id: Optional[int] = None  # a partner account's organisation

    @property
    def is_admin(self) -> bool:
        return self.role == DeskRole.ADMIN.value

    @property
    def actor(self) -> str:
        return f"desk:{self.username}"


def _user_view(row: DeskUserRow) -> DeskUser:
    return DeskUser(id=row.id, username=row.username, display_name=row.display_name, role=row.role,
                    organisation_id=row.organisation_id)


def create_user(session: Session, username: str, password: str, *, role: str, display_name: str,
                actor: str = "clerk:cli", now: Optional[dt.datetime] = None,
                organisation_id: Optional[int] = None) -> DeskUser:
    """A new desk account; the password is stored only as an argon2id hash. A partner account
    (a township, department or mediation organisation) belongs to exactly one organisation."""
    username = (username or "").strip().lower()
    if not _USERNAME.match(username):
        raise ValidationError("用户名只能由2到40个小写字母、数字或 . _ - 组成。")
    if len(password or "") < MIN_PASSWORD:
        raise ValidationError(f"密码至少需要{MIN_PASSWORD}个字符。")
    try:
        role_value = DeskRole(role).value
    except ValueError:
        raise ValidationError("角色只能是 agent（坐席）、clerk（书记员）、admin（管理员）或 partner（合作单位）。") from None
    if (role_value == DeskRole.PARTNER.value) != (organisation_id is not None):
        raise ValidationError("合作单位账号必须属于一个乡镇、部门或调解组织；法院工作人员的账号不属于合作单位。")
    if organisation_id is not None and session.get(PartnerOrganisation, organisation_id) is None:
        raise ValidationError("没有找到这个合作单位。")
    name = clean_text(display_name, limit=40, field="显示名")
    if session.execute(select(DeskUserRow.id).where(DeskUserRow.username == username)).first() is not None:
        raise ValidationError(f"用户名“{username}”已经存在。")
    row = DeskUserRow(username=username, display_name=name, password_hash=_hasher.hash(password), role=role_value,
                      organisation_id=organisation_id, active=True, failed_logins=0, created_at=now or clock.now())
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # the same username created at this very moment
        raise ValidationError(f"用户名“{username}”已经存在。") from exc
    journal.audit(session, at=now, actor=actor, action="desk_user.create", entity_type="desk_user", entity_id=row.id,
                  after={"username": username, "role": role_value}
                  | ({"organisation_id": organisation_id} if organisation_id is not None else {}))
    return _user_view(row)


def authenticate(session: Session, username: str, password: str, *, now: dt.datetime) -> Optional[DeskUser]:
    """The user if the password is right and the account active and not locked; None otherwise.

    Returns None rather than raising on a lockout: the failure count must
    commit with the caller's transaction, and the answer must not tell an
    attacker which accounts exist or are locked.
    """
    row = session.execute(
        select(DeskUserRow).where(DeskUserRow.username == (username or "").strip().lower())
        .with_for_update().execution_options(populate_existing=True)  # concurrent failures all count
    ).scalar_one_or_none()
    if row is None or not row.active or (row.locked_until is not None and row.locked_until > now):
        _spend_a_hash(password)
        return None
    try:
        _hasher.verify(row.password_hash, password or "")
    except (VerificationError, InvalidHashError):
        row.failed_logins = (row.failed_logins or 0) + 1
        action = "desk_user.login_failed"
        if row.failed_logins >= MAX_FAILED_LOGINS:
            row.locked_until, row.failed_logins = now + LOCKOUT, 0
            action = "desk_user.locked"
        session.flush()
        journal.audit(session, at=now, actor=f"desk:{row.username}", action=action, entity_type="desk_user",
                      entity_id=row.id, after={"locked_until": row.locked_until.isoformat()
                                               if row.locked_until else None})
        return None
    if _hasher.check_needs_rehash(row.password_hash):  # parameters raised since it was hashed
        row.password_hash = _hasher.hash(password)
    row.failed_logins, row.locked_until, row.last_login_at = 0, None, now
    session.flush()
    journal.audit(session, at=now, actor=f"desk:{row.username}", action="desk_user.login", entity_type="desk_user",
                  entity_id=row.id)
    return _user_view(row)


def _spend_a_hash(password: str) -> None:
    try:
        _hasher.verify(_DUMMY_HASH, password or "")
    except (VerificationError, InvalidHashError):
        pass


def get_user(session: Session, user_id: int) -> Optional[DeskUser]:
    """An active user by id (read on every request, so disabling an account works at once)."""
    row = session.get(DeskUserRow, user_id, populate_existing=True)
    return _user_view(row) if row is not None and row.active else None


# --- sessions -----------------------------------------------------------------

SESSION_IDLE = dt.timedelta(minutes=30)
SESSION_LIFETIME = dt.timedelta(hours=12)
SESSION_TOUCH = dt.timedelta(minutes=1)  # last_seen is written at most this often


def _session_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(session: Session, user: DeskUser, *, now: dt.datetime) -> str:
    """A new server-side session for a user who just signed in; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(DeskSessionRow(id=_session_id(token), user_id=user.id, created_at=now, last_seen_at=now))
    session.flush()
    return token


def session_user(session: Session, token: object, *, now: dt.datetime,
                 active: bool) -> tuple[Optional[DeskUser], bool]:
    """The user of a live session or None (unknown, signed out, idle too long, too old,
    account disabled), and whether the row changed (the caller commits that).

    ``active``: the request is the user's doing (not a page polling by itself), so it
    keeps the session alive; last_seen is written at most once a minute."""
    if not isinstance(token, str) or not token:
        return None, False
    row = session.get(DeskSessionRow, _session_id(token), populate_existing=True)
    if row is None or row.ended_at is not None:
        return None, False
    if now - row.last_seen_at >= SESSION_IDLE or now - row.created_at >= SESSION_LIFETIME:
        row.ended_at = now
        session.flush()
        return None, True
    changed = active and now - row.last_seen_at >= SESSION_TOUCH
    if changed:
        row.last_seen_at = now
        session.flush()
    return get_user(session, row.user_id), changed


def end_session(session: Session, token: object, *, now: dt.datetime) -> None:
    """Sign out: the session ends on the server, so a copied cookie is worth nothing."""
    if isinstance(token, str) and token:
        session.execute(update(DeskSessionRow).where(DeskSessionRow.id == _session_id(token),
                                                     DeskSessionRow.ended_at.is_(None))
                        .values(ended_at=now).execution_options(synchronize_session=False))
