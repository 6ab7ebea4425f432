"""Application factory for the 12368 hotline desk."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Optional

from flask import Flask, Response, has_request_context, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from court.core import clock
from court.core.errors import NotFound, PermissionDenied
from court.core.settings import VAR_DIR
from court.records import workcalendar
from court.store.db import Database
from desk.admin_views import admin_bp
from desk.agreement_views import agreements_bp, verify_bp
from desk.alert_views import alerts_bp
from desk.auth import bp as auth_bp
from desk.auth import login_manager
from desk.booking_views import booking_bp
from desk.calendar_views import calendar_bp
from desk.caller_views import caller_bp
from desk.delegation_views import delegation_bp
from desk.extensions import DB_KEY, TRACKERS_KEY
from desk.finder_views import finder_bp
from desk.integrity_views import integrity_bp
from desk.request_views import partner_bp, requests_bp
from desk.stats_views import stats_bp
from desk.throttle import LoginThrottle
from desk.tracker_client import TrackerClient
from desk.training_views import training_bp
from desk.views import handoff_bp, intake_bp, queue_bp

csrf = CSRFProtect()

# Own static files only: no inline script or style, no CDN.
CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"


def secret_key(path: Path = VAR_DIR / "desk-secret") -> str:
    """DESK_SECRET_KEY, else one generated on first start and kept (owner-only) so restarts keep sessions."""
    key = os.environ.get("DESK_SECRET_KEY")
    if key:
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # EXCL: two starting workers agree
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        key = secrets.token_hex(32)
        fh.write(key)
    return key


class DeskSessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the desk is reached over HTTPS: directly,
    or through a proxy that says so (DESK_TRUST_PROXY=1). DESK_SECURE_COOKIES=1 or 0
    decides it outright."""

    def get_cookie_secure(self, app: Flask) -> bool:
        forced = app.config.get("DESK_SECURE_COOKIES")
        if forced is not None:
            return bool(forced)
        return has_request_context() and request.is_secure


def _secure_cookies_setting() -> Optional[bool]:
    return {"1": True, "0": False}.get(os.environ.get("DESK_SECURE_COOKIES", ""))


def create_app(db: Optional[Database] = None, *, rasa_url: Optional[str] = None, testing: bool = False) -> Flask:
    app = Flask(__name__)
    app.config.update(
        # Tests get a throwaway key rather than touching var/.
        SECRET_KEY=secrets.token_hex(32) if testing and not os.environ.get("DESK_SECRET_KEY") else secret_key(),
        TESTING=testing,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        DESK_SECURE_COOKIES=_secure_cookies_setting(),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Strict",
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.session_interface = DeskSessionInterface()
    if os.environ.get("DESK_TRUST_PROXY") == "1":  # behind one reverse proxy: its X-Forwarded-For/-Proto count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]  # Flask docs' idiom
    app.extensions[DB_KEY] = db or Database()
    app.extensions[TRACKERS_KEY] = TrackerClient(rasa_url)
    app.extensions["desk_login_throttle"] = LoginThrottle()

    csrf.init_app(app)
    login_manager.init_app(app)
    for bp in (auth_bp, queue_bp, handoff_bp, booking_bp, intake_bp, caller_bp, alerts_bp, admin_bp, calendar_bp,
               stats_bp, integrity_bp, finder_bp, delegation_bp, partner_bp, requests_bp, training_bp,
               agreements_bp, verify_bp):
        app.register_blueprint(bp)

    @app.context_processor
    def _calendar_warning():
        # Admins see from 1 December on that next year's holidays are not entered yet.
        if not (current_user.is_authenticated and current_user.role == "admin"):
            return {}
        with app.extensions[DB_KEY].reader() as s:
            return {"calendar_missing": workcalendar.next_year_missing(s, clock.now())}

    @app.context_processor
    def _assistant_health():
        # Agents should know residents are getting apologies, not answers.
        if not (current_user.is_authenticated and current_user.role in ("agent", "admin")):
            return {}
        return {"assistant_degraded": app.extensions[TRACKERS_KEY].degraded()}

    @app.route("/healthz")
    def _healthz():
        return Response("ok", mimetype="text/plain")

    @app.errorhandler(CSRFError)
    def _csrf(_exc):
        return render_template("error.html", title="请求已失效",
                               message="页面已过期或请求无效，请刷新页面后重试。"), 400

    @app.errorhandler(PermissionDenied)
    def _forbidden(exc):
        return render_template("error.html", title="无权访问", message=exc.message), 403

    @app.errorhandler(403)
    def _forbidden_http(_exc):
        return render_template("error.html", title="无权访问", message="您没有权限进行这个操作。"), 403

    @app.errorhandler(NotFound)
    def _missing(_exc):
        return render_template("error.html", title="未找到", message="没有找到这条记录。"), 404

    @app.errorhandler(404)
    def _missing_http(_exc):
        return render_template("error.html", title="未找到", message="没有找到这个页面。"), 404

    @app.after_request
    def _headers(response):
        if request.endpoint != "static":  # pages carry full phones and transcripts: never cached anywhere
            response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    return app
