"""Queue, handoff and phone-intake pages."""
from __future__ import annotations

import datetime as dt
import logging
import os
from typing import Any
from urllib.parse import quote

import segno
from flask import Blueprint, Response, flash, jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from court.core import clock
from court.core.errors import CourtError, NotFound, PermissionDenied, ResidentLeft
from court.core.settings import LOCAL_TZ
from court.hotline import agent_booking, intake_links, queue
from court.messaging import sms
from desk.auth import HOTLINE, restrict
from desk.extensions import court_db, trackers
from desk.forms import CloseForm, IntakeForm, ReplyForm
from desk.tracker_client import TrackerUnavailable

log = logging.getLogger(__name__)
queue_bp = Blueprint("queue", __name__)
handoff_bp = Blueprint("handoffs", __name__, url_prefix="/handoffs")
intake_bp = Blueprint("intake", __name__)
for _bp in (queue_bp, handoff_bp, intake_bp):
    restrict(_bp, HOTLINE)

NO_TRANSCRIPT = "暂时无法读取对话记录。"
STATUS_LABELS = {"waiting": "等待接手", "taken": "处理中", "returning": "交还失败，待重试", "returned": "已交还助手",
                 "closed": "已结束"}
LEFT_LABEL = "居民已取消转人工"
CLOSED_RETRY_LABEL = "已结束，交还助手失败，待重试"
FALLBACK_NOTE = ("助手暂时连不上，以下是居民发来、系统保存的消息。您的回复照常送达居民，"
                 "但要等助手恢复后才会出现在对话记录中。")
WHO_LABELS = {"resident": "居民", "bot": "助手", "agent": "坐席"}
# Reasons are the assistant's intent names; unknown ones are shown as they are.
REASON_LABELS = {"request_human": "居民要求转人工", "resident_asked": "居民要求转人工", "assistant_down": "助手暂时故障",
                 "frustration": "居民不满意", "misunderstood": "助手多次没听懂"}


def reason_label(reason: str | None) -> str:
    return REASON_LABELS.get(reason or "", reason or "")




def wait_text(minutes: int) -> str:
    minutes = max(0, int(minutes))
    if minutes < 60:
        return f"{minutes}分钟"
    return f"{minutes // 60}小时{minutes % 60}分钟"


def local_time(moment: dt.datetime) -> str:
    return moment.astimezone(LOCAL_TZ).strftime("%m-%d %H:%M")


def status_label(item: Any) -> str:
    if item.resident_left:
        return LEFT_LABEL
    if item.status == "closed" and item.resume_failed:
        return CLOSED_RETRY_LABEL
    return STATUS_LABELS.get(item.status, item.status)


def _row(item: Any) -> dict[str, Any]:
    """One queue row as JSON: the poller and the first render use the same data."""
    return {
        "id": item.handoff_id, "status": item.status, "status_label": status_label(item),
        "left": item.resident_left,
        "wait": wait_text(item.wait_minutes), "waiting_since": local_time(item.waiting_since),
        "dispute": item.dispute_label or "未分类", "summary": item.summary or "", "phone": item.phone_masked or "",
        "reason": reason_label(item.reason), "agent": item.agent or "",
        "overdue": item.overdue, "automatic": item.automatic,
        "mine": bool(item.agent) and item.agent == current_user.username,
        "url": url_for("handoffs.show", handoff_id=item.handoff_id),
        "take_url": url_for("handoffs.take", handoff_id=item.handoff_id),
    }


def _queue_rows() -> list[dict[str, Any]]:
    with court_db().reader() as s:
        return [_row(item) for item in queue.queue(s, now=clock.now())]


def _transcript(conversation_id: str) -> tuple[list[dict[str, Any]], bool]:
    """The transcript lines as JSON-ready dicts, and whether Rasa answered."""
    try:
        lines = trackers().transcript(conversation_id)
    except TrackerUnavailable as exc:
        log.warning("transcript unavailable: %s", exc)
        return [], False
    return [{"who": ln["who"], "who_label": WHO_LABELS.get(ln["who"], ln["who"]), "text": ln["text"],
             "at": local_time(ln["at"])} for ln in lines], True


def _court_error(exc: CourtError) -> None:
    # Permission and not-found errors get their own pages; the rest are flashed.
    if isinstance(exc, (PermissionDenied, NotFound)):
        raise exc
    flash(exc.message, "error")


# --- the queue -----------------------------------------------------------------

@queue_bp.route("/")
@login_required
def index():
    return render_template("queue.html", rows=_queue_rows())


@queue_bp.route("/queue.json")
@login_required
def queue_json():
    return jsonify(_queue_rows())


# --- one handoff ---------------------------------------------------------------

@handoff_bp.route("/<int:handoff_id>/take", methods=["POST"])
@login_required
def take(handoff_id: int):
    try:
        with court_db().transaction() as s:
            queue.take(s, handoff_id, current_user.user, now=clock.now())
    except CourtError as exc:  # HandoffUnavailable: someone else was quicker
        _court_error(exc)
        return redirect(url_for("queue.index"))
    return redirect(url_for("handoffs.show", handoff_id=handoff_id))


def _view_with_transcript(handoff_id: int):
    with court_db().reader() as s:
        view = queue.view(s, handoff_id, current_user.user)
    lines, ok = _transcript(view.conversation_id)
    if not ok:
        # Rasa is down: what the court still holds of the resident's words stands in.
        with court_db().reader() as s:
            kept = queue.kept_messages(s, handoff_id, current_user.user)
        lines = [{"who": "resident", "who_label": WHO_LABELS["resident"], "text": text, "at": local_time(at)}
                 for at, text in kept]
    return view, lines, ok


@handoff_bp.route("/<int:handoff_id>")
@login_required
def show(handoff_id: int):
    with court_db().transaction() as s:  # an admin's look at someone else's conversation is audited
        queue.view(s, handoff_id, current_user.user)
        queue.record_read(s, handoff_id, current_user.user, now=clock.now())
    view, lines, ok = _view_with_transcript(handoff_id)
    with court_db().reader() as s:
        booking = agent_booking.booking_context(s, handoff_id, current_user.user)
    return render_template("handoff.html", h=view, handoff_id=handoff_id, lines=lines, transcript_ok=ok,
                           fallback_note=FALLBACK_NOTE,
                           booking=booking,
                           status_label=STATUS_LABELS.get(view.status, view.status), reason=reason_label(view.reason),
                           created=local_time(view.created_at), open=view.status == "taken",
                           reply_form=ReplyForm(), close_form=CloseForm())


@handoff_bp.route("/<int:handoff_id>/transcript.json")
@login_required
def transcript_json(handoff_id: int):
    try:
        view, lines, ok = _view_with_transcript(handoff_id)
    except ResidentLeft as exc:  # the open page tells the agent at its next poll
        return jsonify({"ok": False, "left": True, "notice": exc.message, "status": "closed", "lines": []})
    return jsonify({"ok": ok, "status": view.status, "lines": lines})


@handoff_bp.route("/<int:handoff_id>/reply", methods=["POST"])
@login_required
def reply(handoff_id: int):
    form = ReplyForm()
    back = redirect(url_for("handoffs.show", handoff_id=handoff_id))
    if not form.validate_on_submit():
        for errors in form.errors.values():
            flash(errors[0], "error")
        return back
    text = form.text.data.strip()
    try:
        with court_db().transaction() as s:
            queue.reply(s, handoff_id, current_user.user, text, now=clock.now())
            conversation_id = queue.view(s, handoff_id, current_user.user).conversation_id
    except CourtError as exc:
        _court_error(exc)
        return back
    try:
        trackers().record_agent_reply(conversation_id, text, current_user.username)
    except TrackerUnavailable as exc:
        log.warning("agent reply not recorded in transcript: %s", exc)
        flash("回复已发送给居民，但" + NO_TRANSCRIPT, "warning")
    return back


def _finish(handoff_id: int, done: str, action) -> Any:
    """Give back or close in the court, then let the assistant resume the chat. A give-back the
    assistant missed stays in the queue as 交还失败，待重试 and is retried by the housekeeping process;
    a closed one resumes itself at the resident's next message (the court's channel sees it closed)."""
    try:
        with court_db().transaction() as s:
            conversation_id = action(s)
    except CourtError as exc:
        _court_error(exc)
        return redirect(url_for("handoffs.show", handoff_id=handoff_id))
    try:
        trackers().resume(conversation_id)
    except TrackerUnavailable as exc:
        log.warning("assistant not resumed: %s", exc)
        with court_db().transaction() as s:
            queue.resume_failed(s, handoff_id, now=clock.now())
        flash(done + "但助手暂时连不上：这个对话留在排队列表中（交还失败，待重试），系统会自动重试，"
                     "恢复后居民会收到通知。", "warning")
        return redirect(url_for("queue.index"))
    with court_db().transaction() as s:
        queue.resume_done(s, handoff_id, now=clock.now())
    flash(done, "info")
    return redirect(url_for("queue.index"))


@handoff_bp.route("/<int:handoff_id>/return", methods=["POST"])
@login_required
def give_back(handoff_id: int):
    return _finish(handoff_id, "已交还助手。",
                   lambda s: queue.give_back(s, handoff_id, current_user.user, now=clock.now()))


@handoff_bp.route("/<int:handoff_id>/close", methods=["POST"])
@login_required
def close(handoff_id: int):
    form = CloseForm()
    if not form.validate_on_submit():
        flash("请填写结束备注（1000字以内）。", "error")
        return redirect(url_for("handoffs.show", handoff_id=handoff_id))
    note = form.note.data.strip()
    return _finish(handoff_id, "已结束。",
                   lambda s: queue.close(s, handoff_id, current_user.user, note=note, now=clock.now()))


# --- a phone caller's intake ---------------------------------------------------

def deep_link(token: str) -> str:
    bot = os.environ.get("TELEGRAM_BOT_USERNAME") or "heihe_court_bot"
    return f"https://t.me/{quote(bot, safe='')}?start={quote(token, safe='')}"


def webchat_base() -> str:
    """The web chat's public address (WEBCHAT_PUBLIC_URL), as printed in QR codes and texted links."""
    return (os.environ.get("WEBCHAT_PUBLIC_URL") or "http://127.0.0.1:8090").rstrip("/")


def web_link(token: str) -> str:
    """The web chat's one-time link: any phone browser, WeChat's included (Telegram is blocked in China)."""
    return f"{webchat_base()}/i/{quote(token, safe='')}"


@intake_bp.route("/intake", methods=["GET", "POST"])
@login_required
def intake():
    form = IntakeForm()
    if form.validate_on_submit():
        try:
            with court_db().transaction() as s:
                reference, token = intake_links.create_intake(
                    s, current_user.user, dispute_type=form.dispute_type.data, summary=form.summary.data.strip(),
                    phone=form.phone.data.strip(), consent=bool(form.consent.data),
                    name=(form.name.data or "").strip() or None, now=clock.now())
        except CourtError as exc:
            _court_error(exc)
        else:
            link, web = deep_link(token), web_link(token)
            qr = Markup(segno.make_qr(web, error="m").svg_inline(scale=6, title="扫码打开黑河法院网页助手"))
            texted = bool(form.send_sms.data) and sms.send_notice(
                form.phone.data.strip(), "12368热线已为您登记调解申请，可在网页继续预约", web)
            page = render_template("intake_done.html", reference=reference, link=link, web=web, qr=qr,
                                   texted=texted, sms_on=sms.enabled())
            # The one-time link must not linger in caches.
            return Response(page, headers={"Cache-Control": "no-store"})
    return render_template("intake.html", form=form)
