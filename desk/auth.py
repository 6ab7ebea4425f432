"""Agent sign-in: Flask-Login sessions backed by court.hotline.accounts users and sessions."""
from __future__ import annotations

from typing import Any, Optional
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from court.core import clock
from court.core.errors import CourtError
from court.hotline import accounts
from desk.extensions import court_db

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录。"
login_manager.session_protection = "strong"


class Agent(UserMixin):
    """The signed-in DeskUser, in the shape Flask-Login wants."""

    def __init__(self, user: Any) -> None:
        self.user = user

    def get_id(self) -> str:
        return str(self.user.id)

    def __getattr__(self, name: str) -> Any:  # username, display_name, role
        return getattr(self.user, name)


# Requests a page makes by itself (polling): they do not keep an idle session alive.
PASSIVE_ENDPOINTS = frozenset({"queue.queue_json", "handoffs.transcript_json"})


@login_manager.user_loader
def _load(user_id: str) -> Optional[Agent]:
    """The user of this request's server-side session, read on every request: a
    signed-out, idle or disabled session stops working at once, whatever the cookie says."""
    token = session.get("sid")
    if not token:
        return None
    db, now = court_db(), clock.now()
    active = request.endpoint not in PASSIVE_ENDPOINTS
    with db.reader() as s:
        user, changed = accounts.session_user(s, token, now=now, active=active)
    if changed:  # the session expired or its last activity moved: write it
        with db.transaction() as s:
            user, _ = accounts.session_user(s, token, now=now, active=active)
    return Agent(user) if user is not None and str(user.id) == user_id else None


# Which roles may use which part of the desk.
HOTLINE = ("agent", "admin")
OVERSIGHT = ("clerk", "admin")
ADMIN_ONLY = ("admin",)
# Townships, departments and mediation organisations: their own 接诉即办 requests, nothing else.
PARTNER = ("partner",)


def restrict(blueprint: Blueprint, roles: tuple[str, ...]) -> None:
    """Every page of ``blueprint``: signed in, and one of ``roles`` (else 403)."""

    @blueprint.before_request
    def _check():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if current_user.role not in roles:
            abort(403)
        return None


def home_url() -> str:
    """Where a signed-in user starts: the queue for the hotline, the statistics for clerks, a partner
    organisation's own requests for its accounts."""
    if current_user.role in PARTNER:
        return url_for("partner.mine")
    return url_for("stats.index") if current_user.role not in HOTLINE else url_for("queue.index")


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名。"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码。"), Length(max=200)])


def _safe_next(target: Optional[str]) -> str:
    # Only same-site paths: an open redirect would help phishing.
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return home_url()


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_url())
    form = LoginForm()
    if form.validate_on_submit():
        throttle, client = current_app.extensions["desk_login_throttle"], request.remote_addr or "unknown"
        if not throttle.allow(client):  # before the hash: a flood costs no Argon2 time
            flash("登录失败次数太多，请15分钟后再试。", "error")
            return render_template("login.html", form=form), 429
        try:
            with court_db().transaction() as s:
                now = clock.now()
                user = accounts.authenticate(s, form.username.data.strip(), form.password.data, now=now)
                token = accounts.start_session(s, user, now=now) if user is not None else None
        except CourtError as exc:  # e.g. a locked account explains itself
            throttle.failed(client)
            flash(exc.message, "error")
            return render_template("login.html", form=form)
        if user is None:
            throttle.failed(client)
            flash("用户名或密码不正确。", "error")
        else:
            wanted = request.args.get("next")
            session.clear()  # a fresh session on sign-in: no fixation
            session["sid"] = token
            login_user(Agent(user))
            return redirect(_safe_next(wanted))
    return render_template("login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    with court_db().transaction() as s:
        accounts.end_session(s, session.get("sid"), now=clock.now())  # ended on the server: a copied cookie is void
    logout_user()
    session.clear()
    flash("已退出登录。", "info")
    return redirect(url_for("auth.login"))
