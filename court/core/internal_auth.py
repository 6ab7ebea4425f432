"""The secrets the stack's processes share, and the checks that use them.

Every door between two processes has its own secret, so rotating one does not
touch the others:

- ``ACTION_SERVER_TOKEN``: Rasa → the action server (``token`` in endpoints.yml,
  checked by ``rasa_sdk_plugins``);
- ``RASA_JWT_SECRET``: the bot and the desk → Rasa's HTTP API (a bearer JWT);
- ``REST_CHANNEL_SECRET``: the bot → Rasa's REST channel (``rasa_ext.channels``);
- ``COURT_PSEUDONYM_KEY``: keys the hash that stands for a chat in the audit log;
- ``SPOOL_KEY``: encrypts the bot's inbound spool on disk;
- ``WEBCHAT_SECRET_KEY``: the web chat's CSRF tokens;
- ``WEBCHAT_POSTER_KEY``: signs the service points' QR posters (the desk prints, the web chat checks).
- ``COURT_DOCUMENT_KEY``: signs the verification QR codes on printed agreements (the desk prints and checks).

Each is read from the environment (production: set by the operator or a secret
manager), else from ``var/secrets/<name>``, which ``make run`` creates on first
use (owner-only). See SECURITY.md for rotation.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets as _random
from pathlib import Path
from typing import Mapping, Optional

from court.core.settings import VAR_DIR

ACTION_SERVER_TOKEN = "ACTION_SERVER_TOKEN"
RASA_JWT_SECRET = "RASA_JWT_SECRET"
REST_CHANNEL_SECRET = "REST_CHANNEL_SECRET"
PSEUDONYM_KEY = "COURT_PSEUDONYM_KEY"
SPOOL_KEY = "SPOOL_KEY"
WEBCHAT_SECRET = "WEBCHAT_SECRET_KEY"  # the web chat's CSRF tokens
POSTER_KEY = "WEBCHAT_POSTER_KEY"  # signs the service points' QR posters (printed: rotate only if it leaked)
DOCUMENT_KEY = "COURT_DOCUMENT_KEY"  # signs the QR codes on printed agreements and applications
NAMES = (ACTION_SERVER_TOKEN, RASA_JWT_SECRET, REST_CHANNEL_SECRET, PSEUDONYM_KEY, SPOOL_KEY, WEBCHAT_SECRET,
         POSTER_KEY, DOCUMENT_KEY)

# The header the bot sends with each message to the REST channel.
CHANNEL_HEADER = "X-Court-Channel-Secret"


def secrets_dir() -> Path:
    return VAR_DIR / "secrets"


def _file(name: str, directory: Optional[Path] = None) -> Path:
    return (directory or secrets_dir()) / name.lower().replace("_", "-")


def secret(name: str, env: Mapping[str, str] = os.environ, *, create: bool = False,
           directory: Optional[Path] = None) -> Optional[str]:
    """The secret ``name``: the environment's, else the stored one (made when ``create``)."""
    value = env.get(name)
    if value:
        return value
    path = _file(name, directory)
    try:
        return path.read_text(encoding="ascii").strip() or None
    except FileNotFoundError:
        pass
    if not create:
        return None
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # EXCL: two starters agree
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    value = _random.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(value)
    return value


def stack_secrets(env: Mapping[str, str] = os.environ, *, directory: Optional[Path] = None) -> dict[str, str]:
    """All of them, created where missing: what the launcher hands its children."""
    return {name: secret(name, env, create=True, directory=directory) or "" for name in NAMES}


def generated() -> dict[str, str]:
    """A fresh set kept in memory only (tests, throwaway stacks)."""
    return {name: _random.token_urlsafe(32) for name in NAMES}


def matches(provided: object, expected: Optional[str]) -> bool:
    """Constant-time comparison; no expected secret means nothing matches."""
    if not expected or not isinstance(provided, str) or not provided:
        return False
    return hmac.compare_digest(provided.encode("utf-8"), expected.encode("utf-8"))


def rasa_token(caller: str, env: Mapping[str, str] = os.environ) -> Optional[str]:
    """A bearer JWT for Rasa's HTTP API (role admin: the desk reads any conversation).

    No expiry claim: it is worth exactly as much as the secret that signs it,
    which never leaves this host, and the court's clock may be a test's."""
    key = secret(RASA_JWT_SECRET, env)
    if not key:
        return None
    import jwt  # PyJWT, which Rasa's sanic-jwt also uses

    return jwt.encode({"user": {"username": caller, "role": "admin"}}, key, algorithm="HS256")


def rasa_headers(caller: str, env: Mapping[str, str] = os.environ) -> dict[str, str]:
    token = rasa_token(caller, env)
    return {"Authorization": f"Bearer {token}"} if token else {}


def channel_headers(env: Mapping[str, str] = os.environ) -> dict[str, str]:
    value = secret(REST_CHANNEL_SECRET, env)
    return {CHANNEL_HEADER: value} if value else {}


def keyed_hash(value: str, *, purpose: str, env: Mapping[str, str] = os.environ, length: int = 16) -> str:
    """A stable pseudonym for ``value``: HMAC-SHA256 under the pseudonym key.

    Without the key nobody can tell which chat it stands for; the key is made on
    first use so every process of one installation derives the same pseudonym."""
    key = secret(PSEUDONYM_KEY, env, create=True) or ""
    digest = hmac.new(key.encode("utf-8"), f"{purpose}:{value}".encode("utf-8"), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:length]


def fernet_key(env: Mapping[str, str] = os.environ) -> bytes:
    """A Fernet key derived from SPOOL_KEY (made on first use)."""
    raw = secret(SPOOL_KEY, env, create=True) or ""
    return base64.urlsafe_b64encode(hashlib.sha256(raw.encode("utf-8")).digest())
