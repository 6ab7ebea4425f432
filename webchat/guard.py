"""Who is asking, and may they: the anonymous cookie and the CSRF token bound to it, the client's
address (behind a trusted proxy), whether the cookie must be Secure, and the headers every answer
carries.

Identity is an anonymous long random id in an HttpOnly, SameSite=Lax cookie (Lax: a QR code or
SMS link opened from WeChat still finds the conversation); Secure unless the page is plain HTTP
on loopback (dev and tests). POSTs need the CSRF token bound to that cookie, a JSON body and a
same-origin request.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
from typing import Optional

from sanic import response
from sanic.request import Request

from court.messaging.webchat import valid_cookie
from webchat.settings import WebSettings

COOKIE = "hh_chat"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the one-time intake link must not leak to a map site
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
}


def refuse(status: int, text: str) -> response.HTTPResponse:
    return response.json({"error": text}, status=status)


class Guard:
    """The cookie, its CSRF token and the request's address, for one installation's secret."""

    def __init__(self, settings: WebSettings, secret: bytes) -> None:
        self.settings = settings
        self.secret = secret

    def csrf(self, cookie: str) -> str:
        return hmac.new(self.secret, f"csrf:{cookie}".encode(), hashlib.sha256).hexdigest()

    def client(self, request: Request) -> str:
        if self.settings.trust_proxy:
            forwarded = request.headers.get("x-forwarded-for", "")
            if forwarded:
                return forwarded.split(",")[-1].strip()
        return request.ip or "?"

    def secure(self, request: Request) -> bool:
        if self.settings.secure_cookies in ("0", "1"):
            return self.settings.secure_cookies == "1"
        scheme = request.headers.get("x-forwarded-proto", "") if self.settings.trust_proxy else ""
        if (scheme or request.scheme) == "https":
            return True
        host = (request.host or "").rsplit(":", 1)[0].strip("[]")
        try:
            return not ipaddress.ip_address(host).is_loopback
        except ValueError:
            return host != "localhost"

    def set_cookie(self, request: Request, resp: response.HTTPResponse, value: str) -> None:
        resp.cookies[COOKIE] = value
        cookie = resp.cookies[COOKIE]
        cookie["httponly"] = True
        cookie["samesite"] = "Lax"
        cookie["path"] = "/"
        cookie["max-age"] = self.settings.kept_days * 86400  # as long as the court keeps it
        if self.secure(request):
            cookie["secure"] = True

    def check_post(self, request: Request) -> Optional[response.HTTPResponse]:
        """CSRF: the token bound to this cookie, a JSON body, and no cross-site sender."""
        cookie = request.cookies.get(COOKIE)
        token = request.headers.get("x-csrf-token", "")
        if not valid_cookie(cookie) or not hmac.compare_digest(token, self.csrf(str(cookie))):
            return refuse(403, "页面已过期，请刷新后再试。")
        if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return refuse(403, "请从本页面发送。")
        origin = request.headers.get("origin")
        if origin and origin.split("://", 1)[-1] != request.host:
            return refuse(403, "请从本页面发送。")
        if not (request.headers.get("content-type") or "").startswith("application/json"):
            return refuse(415, "格式不对。")
        return None
