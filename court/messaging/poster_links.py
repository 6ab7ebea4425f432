"""The link on a service point's printed QR poster: ``/p/<token>`` opens the web chat
with that point remembered as the resident's starting place.

The token is opaque and signed: the point's id and an HMAC-SHA256 of it under
WEBCHAT_POSTER_KEY (court/core/internal_auth.py), base64url. A changed character, another
point's id or a token of another installation is refused; the id is never taken
from the URL as it stands. Posters are printed, so the key is rotated only if it leaked
(every poster then needs reprinting).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from typing import Mapping, Optional

from court.core import internal_auth

PREFIX = "p"
_MAC_BYTES = 12
_ID_BYTES = 4
_SHAPE = re.compile(r"^p[A-Za-z0-9_-]{22}$")  # 16 bytes, unpadded


def _key(env: Mapping[str, str]) -> bytes:
    key = internal_auth.secret(internal_auth.POSTER_KEY, env, create=True)
    if not key:
        raise RuntimeError("WEBCHAT_POSTER_KEY is missing")
    return key.encode("utf-8")


def _mac(point_id: int, env: Mapping[str, str]) -> bytes:
    return hmac.new(_key(env), f"poster:{point_id}".encode("ascii"), hashlib.sha256).digest()[:_MAC_BYTES]


def token(point_id: int, env: Mapping[str, str] = os.environ) -> str:
    if not 0 < point_id < 2 ** (8 * _ID_BYTES):
        raise ValueError("service point id out of range")
    raw = point_id.to_bytes(_ID_BYTES, "big") + _mac(point_id, env)
    return PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def point_of(value: object, env: Mapping[str, str] = os.environ) -> Optional[int]:
    """The point a poster token names, or None for anything not signed by this installation."""
    text = str(value or "")
    if not _SHAPE.match(text):
        return None
    try:
        raw = base64.urlsafe_b64decode(text[1:] + "==")
    except (binascii.Error, ValueError):
        return None
    point_id = int.from_bytes(raw[:_ID_BYTES], "big")
    if point_id == 0:
        return None
    # Compare the canonical text, not the decoded bytes: the last base64 character carries
    # spare bits, so a changed final character can decode to the same bytes.
    if not hmac.compare_digest(text, token(point_id, env)):
        return None
    return point_id


def path(point_id: int, env: Mapping[str, str] = os.environ) -> str:
    return f"/p/{token(point_id, env)}"
