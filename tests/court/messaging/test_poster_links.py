"""A poster's link names its service point by a signed, opaque token: a changed character,
another point's id or another installation's key opens nothing."""
from __future__ import annotations

import base64

import pytest

from court.messaging import poster_links

KEY = {"WEBCHAT_POSTER_KEY": "a-test-poster-key-of-this-court"}
OTHER = {"WEBCHAT_POSTER_KEY": "another-installation-s-key"}


def test_a_token_names_its_point_and_nothing_else() -> None:
    token = poster_links.token(42, KEY)
    assert poster_links.point_of(token, KEY) == 42 and "42" not in token and len(token) == 23
    assert poster_links.path(42, KEY) == f"/p/{token}"
    assert poster_links.point_of(token, OTHER) is None  # another installation's poster


def test_tampered_tokens_are_refused() -> None:
    token = poster_links.token(42, KEY)
    for i in range(1, len(token)):
        flipped = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
        assert poster_links.point_of(flipped, KEY) is None
    # Another point's id under this token's signature.
    raw = base64.urlsafe_b64decode(token[1:] + "==")
    forged = "p" + base64.urlsafe_b64encode((43).to_bytes(4, "big") + raw[4:]).decode().rstrip("=")
    assert poster_links.point_of(forged, KEY) is None
    for junk in ("", "42", "p", "p" + "A" * 22, token + "A", token.upper(), None, "../../etc", "p" + "%" * 22):
        assert poster_links.point_of(junk, KEY) is None


def test_every_other_final_character_is_refused() -> None:
    # The last of 22 base64 characters carries 4 spare bits: decoding alone would accept
    # up to 15 other spellings of a token (this failed in CI for some random keys).
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for point_id in range(1, 60):
        token = poster_links.token(point_id, KEY)
        others = [token[:-1] + c for c in alphabet if c != token[-1]]
        assert [t for t in others if poster_links.point_of(t, KEY) is not None] == []


@pytest.mark.parametrize("bad", [0, -1, 2 ** 32])
def test_ids_out_of_range_get_no_token(bad: int) -> None:
    with pytest.raises(ValueError):
        poster_links.token(bad, KEY)
