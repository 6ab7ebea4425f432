"""What the messaging front end asks of the court: one call per step, one
transaction per call. The Telegram bot calls these (from a worker thread) and
never touches the storage layer itself; court/facades/assistant.py is the same for Rasa.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Callable, Optional

from court.booking import acceptance, engine
from court.core import clock
from court.core.errors import NotFound
from court.core.timeutil import to_local
from court.hotline import handoffs, queue, support_requests
from court.mediation import (
    agenda,
    delegation,
    delegation_deadlines,
    delegation_offers,
    delegation_outcomes,
    linking,
    outcomes,
    party_sms,
)
from court.messaging import buttons as chat_buttons
from court.messaging import conversations, inbox, outbox, sms
from court.messaging.buttons import Pressed
from court.messaging.inbox import InboundRow as PendingMessage
from court.messaging.outbox import Delivery
from court.records import erasure, journal, retention, workcalendar
from court.records.erasure import ErasureReport, TranscriptJob
from court.store.db import Database
from court.store.schema import OutcomeResult, RecipientType

__all__ = ["MessengerFacade", "Delivery", "PendingMessage", "ErasureReport", "TranscriptJob", "OUTCOME_CHOICES",
           "NOT_LINKED", "NOT_ACTIVE"]

OUTCOME_CHOICES = tuple(outcomes.OUTCOME_LABELS.items())
NOT_LINKED = "您还没有绑定调解员身份。请向法院工作人员索取绑定码，然后发送：/link 绑定码"
NOT_ACTIVE = "您的调解员身份已停用或已退出，不再接收预约。如有疑问请联系法院工作人员。"


class MessengerFacade:
    def __init__(self, db: Database, *, now: Callable[[], dt.datetime] = clock.now) -> None:
        self.db = db
        self.now = now

    # --- buttons ---------------------------------------------------------

    def issue_buttons(self, chat_id: int, buttons: list[tuple[str, str]]) -> list[str]:
        with self.db.transaction() as s:
            return chat_buttons.issue(s, chat_id=chat_id, buttons=buttons, now=self.now())

    def press_button(self, chat_id: int, token: str) -> Pressed:
        with self.db.transaction() as s:
            return chat_buttons.press(s, chat_id=chat_id, token=token, now=self.now())

    # --- residents' messages -------------------------------------------

    def inbox_receive(self, *, update_id: Optional[int], chat_id: int, conversation_id: str, text: str,
                      meta: dict[str, Any]) -> int:
        with self.db.transaction() as s:
            inbound_id, _ = inbox.receive(s, update_id=update_id, chat_id=chat_id, conversation_id=conversation_id,
                                          text=text, meta=meta, now=self.now())
            return inbound_id

    def inbox_pending(self, chat_id: int) -> list[PendingMessage]:
        with self.db.reader() as s:
            return inbox.pending(s, chat_id=chat_id)

    def inbox_delivered(self, inbound_id: int) -> None:
        with self.db.transaction() as s:
            inbox.delivered(s, inbound_id, now=self.now())

    def inbox_failed(self, inbound_id: int, error: str) -> str:
        with self.db.transaction() as s:
            return inbox.failed(s, inbound_id, error=error, now=self.now())

    def chat_held(self, conversation_id: str) -> bool:
        """The court's word on whether an agent has (or will take) the chat: the assistant stays quiet."""
        with self.db.reader() as s:
            return handoffs.holds_chat(s, conversation_id)

    def mark_overdue_handoffs(self) -> int:
        """Tell residents whose handoff waited past the court's limit (once), in the transaction
        that marks it for the queue; returns how many."""
        now = self.now()
        with self.db.transaction() as s:
            late = handoffs.mark_overdue(s, workcalendar.of(s), now=now)
            for handoff in late:
                journal.enqueue(s, key=f"handoff:{handoff.id}:overdue", recipient_type=RecipientType.CHAT,
                                recipient_id=None, template="handoff_overdue", due_at=now,
                                payload={"conversation_id": handoff.conversation_id,
                                         "limit_minutes": handoffs.WAIT_LIMIT_MINUTES})
            return len(late)

    def expire_unaccepted(self) -> int:
        """Appointments their mediator did not accept in time: a desk alert each, and offered to a
        colleague (court/booking/acceptance.py); one transaction per appointment. Returns how many."""
        now = self.now()
        with self.db.reader() as s:
            due = acceptance.overdue(s, now=now)
        done = 0
        for appointment_id in due:
            with self.db.transaction() as s:
                done += acceptance.expire(s, appointment_id, now=now) is not None
        return done

    def alert_overdue_requests(self) -> int:
        """接诉即办 requests past the court's response time: one desk alert each (court/hotline/support_requests.py);
        one transaction per request. Returns how many were alerted."""
        now = self.now()
        with self.db.reader() as s:
            due = support_requests.overdue(s, workcalendar.of(s), now=now)
        done = 0
        for request_id in due:
            with self.db.transaction() as s:
                done += support_requests.alert_overdue(s, request_id, workcalendar.of(s), now=now)
        return done

    def resumes_due(self) -> list[tuple[int, str]]:
        with self.db.transaction() as s:  # settles those a newer handoff made moot
            return handoffs.resumes_due(s, now=self.now())

    def resume_done(self, handoff_id: int) -> None:
        with self.db.transaction() as s:
            queue.resume_done(s, handoff_id, now=self.now())

    def resume_failed(self, handoff_id: int) -> None:
        with self.db.transaction() as s:
            queue.resume_failed(s, handoff_id, now=self.now())

    def inbox_due_chats(self) -> list[int]:
        with self.db.reader() as s:
            return sorted({row.chat_id for row in inbox.due(s, now=self.now())})

    def erase_resident(self, *, telegram_user_id: int, conversation_id: str, chat_id: int) -> ErasureReport:
        """The court's copies, at once; the transcript's erasure is a job in the same transaction."""
        with self.db.transaction() as s:
            return erasure.erase(s, telegram_user_id=telegram_user_id, conversation_id=conversation_id,
                                 chat_id=chat_id, now=self.now())

    def claim_transcript_erasures(self, *, limit: int = 20) -> list[TranscriptJob]:
        with self.db.transaction() as s:
            return erasure.claim_transcript_erasures(s, now=self.now(), limit=limit)

    def transcript_erased(self, job_id: int, *, tell: bool = True) -> bool:
        with self.db.transaction() as s:
            return erasure.transcript_erased(s, job_id, now=self.now(), tell=tell)

    def transcript_erasure_failed(self, job_id: int, error: str) -> None:
        with self.db.transaction() as s:
            erasure.transcript_erasure_failed(s, job_id, error=error, now=self.now())

    def enforce_retention(self, stale_conversations: list[str]) -> "retention.RetentionReport":
        """One pass of the retention rules; ``stale_conversations`` come from the tracker store."""
        with self.db.transaction() as s:
            now = self.now()
            report = retention.enforce(s, now=now)
            requested = retention.expire_transcripts(s, stale_conversations, now=now)
            return dataclasses.replace(report, transcripts_requested=requested)

    def unblock(self, chat_id: int) -> None:
        with self.db.transaction() as s:
            outbox.unblock(s, chat_id=chat_id)

    # --- pushes ------------------------------------------------------------

    def claim_pushes(self, limit: int = 50, channel: str = conversations.TELEGRAM) -> list[Delivery]:
        with self.db.transaction() as s:
            return outbox.claim_due(s, now=self.now(), limit=limit, channel=channel)

    def push_sent(self, outbox_id: int) -> None:
        with self.db.transaction() as s:
            outbox.mark_sent(s, outbox_id, now=self.now())

    def push_retry(self, outbox_id: int, error: str, retry_after: Optional[float]) -> None:
        with self.db.transaction() as s:
            outbox.mark_retry(s, outbox_id, error=error, now=self.now(), retry_after=retry_after)

    def push_blocked(self, outbox_id: int, error: str) -> None:
        with self.db.transaction() as s:
            outbox.mark_blocked(s, outbox_id, error=error, now=self.now())

    def push_undeliverable(self, outbox_id: int, error: str) -> None:
        with self.db.transaction() as s:
            outbox.mark_undeliverable(s, outbox_id, error=error, now=self.now())

    # --- mediators -----------------------------------------------------------

    def link_mediator(self, code: str, chat_id: int) -> str:
        """Link a chat to the mediator the code was issued for; returns their name."""
        now = self.now()
        with self.db.transaction() as s:
            mediator = linking.redeem_link_code(s, code, chat_id, now=now)
            delegation_offers.replay_unlinked_offers(s, mediator.id, now=now)  # 委派 offers pushed before the link
            return mediator.name

    def is_mediator(self, chat_id: int) -> bool:
        with self.db.reader() as s:
            return linking.by_chat(s, chat_id) is not None

    @staticmethod
    def _not_a_mediator(session: Any, chat_id: int) -> str:
        # A suspended or retired mediator keeps the chat link: tell them why nothing works.
        return NOT_ACTIVE if linking.former_by_chat(session, chat_id) is not None else NOT_LINKED

    def not_a_mediator(self, chat_id: int) -> str:
        """What to tell a chat that is not an active mediator's."""
        with self.db.reader() as s:
            return self._not_a_mediator(s, chat_id)

    def _mediator_id(self, session: Any, chat_id: int) -> int:
        mediator = linking.by_chat(session, chat_id)
        if mediator is None:
            raise NotFound(self._not_a_mediator(session, chat_id))
        return mediator.id

    def agenda(self, chat_id: int, *, days: int, title: str) -> str:
        """The mediator's agenda as text, or why this chat has none."""
        return self.agenda_with_answers(chat_id, days=days, title=title)[0]

    def agenda_with_answers(self, chat_id: int, *, days: int, title: str) -> tuple[str, list[tuple[int, str]]]:
        """The agenda as text, and (appointment id, line) for each appointment still waiting for
        this mediator's answer, to be offered with 接受 / 拒绝."""
        now = self.now()
        with self.db.reader() as s:
            mediator = linking.by_chat(s, chat_id)
            if mediator is None:
                return self._not_a_mediator(s, chat_id), []
            items = agenda.agenda(s, mediator.id, start=to_local(now).date(), days=days, now=now)
            text, waiting = agenda.render_agenda(items, title), agenda.awaiting_answer(items, now=now)
        shown = waiting[:agenda.MAX_ANSWER_PROMPTS]
        if len(waiting) > len(shown):
            text += f"\n\n下面先列出{len(shown)}个待确认的预约，处理后再发一次命令查看其余{len(waiting) - len(shown)}个。"
        return text, shown

    def accept(self, chat_id: int, appointment_id: int) -> str:
        with self.db.transaction() as s:
            mediator_id = self._mediator_id(s, chat_id)
            first = engine.accept(s, appointment_id, mediator_id=mediator_id, now=self.now())
            name, phone = agenda.contact_for(s, appointment_id, mediator_id)
            head = "已接受，当事人会收到通知。" if first else "您已经接受过这个预约了。"
            return f"{head}\n当事人：{name}  电话：{phone}\n请按时接待；结束后发送 /outcome 案件编号 登记结果。"

    def decline(self, chat_id: int, appointment_id: int) -> str:
        with self.db.transaction() as s:
            mediator_id = self._mediator_id(s, chat_id)
            result = engine.decline(s, appointment_id, mediator_id=mediator_id, reason="调解员在Telegram拒绝",
                                    now=self.now())
            if result.reassigned is not None:
                return f"已拒绝。这个预约已改派给{result.reassigned.mediator.name}调解员，当事人会收到通知。"
            return "已拒绝。同一时间没有其他调解员有空，已通知当事人另选时间。"

    def outcome_question(self, chat_id: int, reference: str) -> str:
        """The question to ask before showing the result buttons; raises when no outcome can be recorded."""
        with self.db.reader() as s:
            if delegation.by_reference(s, reference) is not None:
                return delegation_outcomes.outcome_question(s, self._mediator_id(s, chat_id), reference)
            case, _ = outcomes.outcome_target(s, self._mediator_id(s, chat_id), reference, self.now())
            return f"案件 {case.reference} 的调解结果是？"

    def record_outcome(self, chat_id: int, reference: str, result: str) -> str:
        with self.db.transaction() as s:
            mediator_id = self._mediator_id(s, chat_id)
            ref = reference.strip().upper()
            if delegation.by_reference(s, reference) is not None:
                # "/outcome REF 失败 双方差距大": the words after the result are the mediator's short note.
                word, _, note = (result or "").strip().partition(" ")
                outcome = delegation_outcomes.record_outcome(s, mediator_id, reference, word, note=note, now=self.now())
                if outcome.result in (OutcomeResult.FAILED.value, OutcomeResult.NO_SHOW.value):
                    return (f"已登记：{ref} 调解不成，已退回法院转立案。"
                            + ("" if note.strip() else f"\n如需补充说明，发送 /session {ref} 说明内容。"))
                return f"已登记：{ref} {outcomes.OUTCOME_LABELS[outcome.result]}。"
            outcome = outcomes.record_outcome(s, mediator_id, reference, outcomes.parse_outcome(result),
                                              now=self.now())
            return f"已登记：{ref} {outcomes.OUTCOME_LABELS[outcome.result]}。"

    # --- delegated cases (委派调解) ----------------------------------------------

    def accept_delegation(self, chat_id: int, delegation_id: int) -> str:
        with self.db.transaction() as s:
            mediator_id = self._mediator_id(s, chat_id)
            first = delegation_offers.accept(s, delegation_id, mediator_id=mediator_id, now=self.now())
            found = delegation.get(s, delegation_id)
            head = "已接受，双方当事人会收到通知。" if first else "您已经接受过这个委派案件了。"
            return (f"{head}\n案件 {found.case.reference}，期限至{found.deadline.month}月{found.deadline.day}日。\n"
                    f"{delegation.parties_text(found)}\n"
                    f"联系当事人后发送 /contact {found.case.reference} 情况；每次调解后发送 /session {found.case.reference} 情况；"
                    f"结束后发送 /outcome {found.case.reference} 登记结果。")

    def decline_delegation(self, chat_id: int, delegation_id: int) -> str:
        with self.db.transaction() as s:
            delegation_offers.decline(s, delegation_id, mediator_id=self._mediator_id(s, chat_id), now=self.now())
            return "已拒绝。法院工作人员会改派给其他调解员。"

    def log_delegation(self, chat_id: int, kind: str, reference: str, note: str) -> str:
        with self.db.transaction() as s:
            entry = delegation_outcomes.add_log(s, self._mediator_id(s, chat_id), reference, kind, note, now=self.now())
            return f"已记录（{delegation.LOG_LABELS[entry.kind]}）：{reference.strip().upper()}。"

    def delegated_cases(self, chat_id: int) -> tuple[str, list[int]]:
        """The mediator's open delegated cases as text, and those still waiting for 接受 / 拒绝."""
        now = self.now()
        with self.db.reader() as s:
            rows = delegation.mediator_cases(s, self._mediator_id(s, chat_id), now=now)
        if not rows:
            return "【委派案件】\n没有未办结的委派案件。", []
        lines = [f"{n}. {line}" for n, (_, _, line) in enumerate(rows, 1)]
        waiting = [d_id for d_id, status, _ in rows if status == "offered"]
        return "【委派案件】\n" + "\n".join(lines), waiting

    def delegation_pass(self, sender: Any = None) -> tuple[int, int]:
        """Deadline warnings, then the parties' texts: (alerts raised, texts sent)."""
        now = self.now()
        with self.db.transaction() as s:
            raised = delegation_deadlines.raise_deadline_alerts(s, now=now)
        with self.db.transaction() as s:
            sent = party_sms.send_due(s, sender if sender is not None else sms.sender(), now=now)
        return raised, sent
