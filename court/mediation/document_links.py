"""The verification link in the QR code of a printed agreement or application:
``/verify/<token>`` on the desk shows the case reference, the kind of document, its
revision's date and the content hash, and whether that is still the current version.

The token is opaque and signed like a poster's (court/messaging/poster_links.py): the kind, the
agreement's id, the revision and the first 8 bytes of the content hash, then an
HMAC-SHA256 of them under COURT_DOCUMENT_KEY, base64url. Only the canonical text of
a token this installation signed is accepted.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from typing import Mapping, Optional

from court.core import internal_auth

KINDS = {"agreement": b"A", "application": b"J"}
_KIND_OF = {v: k for k, v in KINDS.items()}
_MAC_BYTES = 12
_HASH_BYTES = 8
_LAYOUT = 1 + 4 + 2 + _HASH_BYTES  # kind, agreement id, revision, hash prefix
_SHAPE = re.compile(r"^d[A-Za-z0-9_-]{36}$")  # 27 bytes, unpadded


@dataclass(frozen=True)
class DocumentRef:
    kind: str  # agreement or application
    agreement_id: int
    revision: int
    hash_prefix: str  # hex, as printed on the document


def _key(env: Mapping[str, str]) -> bytes:
    key = internal_auth.secret(internal_auth.DOCUMENT_KEY, env, create=True)
    if not key:
        raise RuntimeError("COURT_DOCUMENT_KEY is missing")
    return key.encode("utf-8")


def check_code(content_hash: str) -> str:
    """The short code printed on the document: the first 8 bytes of its content hash, grouped."""
    head = content_hash[: 2 * _HASH_BYTES].upper()
    return "-".join(head[i:i + 4] for i in range(0, len(head), 4))


def token(kind: str, agreement_id: int, revision: int, content_hash: str, env: Mapping[str, str] = os.environ) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind!r}")
    if not 0 < agreement_id < 2 ** 32 or not 0 < revision < 2 ** 16:
        raise ValueError("agreement id or revision out of range")
    body = KINDS[kind] + agreement_id.to_bytes(4, "big") + revision.to_bytes(2, "big") + bytes.fromhex(
        content_hash[: 2 * _HASH_BYTES])
    mac = hmac.new(_key(env), b"document:" + body, hashlib.sha256).digest()[:_MAC_BYTES]
    return "d" + base64.urlsafe_b64encode(body + mac).decode("ascii").rstrip("=")


def read(value: object, env: Mapping[str, str] = os.environ) -> Optional[DocumentRef]:
    """What a token names, or None for anything this installation did not sign."""
    text = str(value or "")
    if not _SHAPE.match(text):
        return None
    try:
        raw = base64.urlsafe_b64decode(text[1:])
    except (binascii.Error, ValueError):
        return None
    kind = _KIND_OF.get(raw[:1])
    agreement_id, revision = int.from_bytes(raw[1:5], "big"), int.from_bytes(raw[5:7], "big")
    if kind is None or agreement_id == 0 or revision == 0:
        return None
    prefix = raw[7:_LAYOUT].hex()
    # The canonical text, never the decoded bytes: a changed last character can decode alike.
    if not hmac.compare_digest(text, token(kind, agreement_id, revision, prefix, env)):
        return None
    return DocumentRef(kind=kind, agreement_id=agreement_id, revision=revision, hash_prefix=prefix)


def path(kind: str, agreement_id: int, revision: int, content_hash: str, env: Mapping[str, str] = os.environ) -> str:
    return f"/verify/{token(kind, agreement_id, revision, content_hash, env)}"
