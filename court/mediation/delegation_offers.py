"""委派调解 from the clerk's form to the mediator's answer: proposing a point and mediator near
the parties, delegating the dispute (the case, its parties and the offer), reassigning a declined
offer, pushing offers again once the mediator links Telegram, and 接受 / 拒绝 (on 接受 the parties
are told whom to expect, in their chat or by SMS).

Plain functions on the caller's session: audit entries and pushes are written in the same
transaction (court/records/journal.py). What every step shares is in court/mediation/delegation.py.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from court.core.errors import ValidationError
from court.core.privacy import mask_text
from court.core.validation import clean_text, normalize_phone, validate_name
from court.mediation import agenda, party_sms
from court.mediation.delegation import (
    CHANNEL_LABELS,
    DEFAULT_DAYS,
    ROLE_LABELS,
    PartyIn,
    amount_text,
    check_actor,
    check_owner,
    default_deadline,
    desk_alert,
    get,
)
from court.messaging import conversations
from court.messaging.outbox import NO_CHAT
from court.records import cases, journal
from court.reference.places import PlaceDirectory, PlaceRef, haversine_km
from court.store.schema import (
    ACTIVE_APPOINTMENT_STATUSES,
    OPEN_DELEGATION_STATUSES,
    Appointment,
    Case,
    CaseSource,
    CaseStatus,
    Court,
    Delegation,
    DelegationParty,
    DelegationStatus,
    DisputeType,
    Mediator,
    MediatorStatus,
    OutboxMessage,
    OutboxStatus,
    Place,
    RecipientType,
    Resident,
    ServicePoint,
)

NEAR_KM = 15.0  # points this much farther than the nearest one still count as near: speciality and load decide
CANDIDATE_POINTS = 5
MAX_AMOUNT_CENTS = 10**14
_OPEN = tuple(s.value for s in OPEN_DELEGATION_STATUSES)
_ACTIVE_APPTS = tuple(s.value for s in ACTIVE_APPOINTMENT_STATUSES)


@dataclass(frozen=True)
class Candidate:
    point_id: int
    point_name: str
    mediator_id: int
    mediator_name: str
    distance_km: float
    speciality: bool  # the mediator lists this dispute type
    load: int  # open delegated cases plus active appointments ahead
    linked: bool = True  # has a Telegram chat for the push (else it waits for /link)


def _parties(parties: Sequence[PartyIn]) -> list[PartyIn]:
    out = []
    for party in parties:
        if party.role not in ROLE_LABELS:
            raise ValidationError("当事人身份只能是申请人或被申请人。")
        label = ROLE_LABELS[party.role]
        try:
            name = validate_name(party.name)
        except ValidationError as exc:
            raise ValidationError(f"{label}的姓名：{exc.message}") from exc
        try:
            phone = normalize_phone(party.phone)
        except ValidationError as exc:
            raise ValidationError(f"{label}的电话：{exc.message}") from exc
        out.append(PartyIn(party.role, name, phone))
    roles = {p.role for p in out}
    if roles != set(ROLE_LABELS):
        raise ValidationError("请至少填写一位申请人和一位被申请人。")
    return out


# --- proposing the point and mediator ------------------------------------------------


def _loads(session: Session, mediator_ids: Sequence[int], now: dt.datetime) -> dict[int, int]:
    loads = {m: 0 for m in mediator_ids}
    if not loads:
        return loads
    for mid, n in session.execute(
        select(Case.mediator_id, func.count()).join(Delegation, Delegation.case_id == Case.id)
        .where(Case.mediator_id.in_(loads), Delegation.status.in_(_OPEN)).group_by(Case.mediator_id)
    ):
        loads[mid] += n
    for mid, n in session.execute(
        select(Appointment.mediator_id, func.count())
        .where(Appointment.mediator_id.in_(loads), Appointment.status.in_(_ACTIVE_APPTS), Appointment.ends_at > now)
        .group_by(Appointment.mediator_id)
    ):
        loads[mid] += n
    return loads


def town(session: Session, text: str) -> PlaceRef:
    """The parties' town as the clerk typed it; raises PlaceAmbiguous, PlaceNotFound or OutsideHeihe."""
    ref = PlaceDirectory.load(session).resolve(clean_text(text, limit=60, field="当事人所在乡镇"))
    if ref.lat is None or ref.lng is None:
        raise ValidationError(f"{ref.display_name}还没有坐标，请换一个附近的乡镇或县区名称。")
    return ref


def propose(session: Session, *, place_id: int, dispute_type: str, now: dt.datetime,
            exclude_mediators: Sequence[int] = (), limit: int = 6) -> list[Candidate]:
    """Mediators for a dispute in a town, best first.

    The nearest active points to the town (its own point first); among the points within
    NEAR_KM of the nearest, a mediator listing the dispute type comes before one who does not,
    then the lighter load (open delegated cases and appointments ahead), then the distance."""
    place = session.get(Place, place_id)
    if place is None or place.lat is None or place.lng is None:
        raise ValidationError("没有找到当事人所在的乡镇，请重新选择。")
    if dispute_type not in {t.value for t in DisputeType}:
        raise ValidationError("请选择纠纷类型。")
    points = session.execute(select(ServicePoint).where(ServicePoint.active.is_(True))).scalars().all()
    ranked = sorted((haversine_km(place.lat, place.lng, p.lat, p.lng), p.id, p) for p in points)[:CANDIDATE_POINTS]
    rows: list[tuple[float, ServicePoint, Mediator]] = []
    for distance, _, point in ranked:
        for mediator in point.mediators:
            if mediator.status == MediatorStatus.ACTIVE.value and mediator.id not in exclude_mediators:
                rows.append((distance, point, mediator))
    if not rows:
        return []
    loads = _loads(session, sorted({m.id for _, _, m in rows}), now)
    nearest = min(d for d, _, _ in rows)
    candidates = [Candidate(point.id, point.name, m.id, m.name, round(d, 1), dispute_type in m.dispute_types,
                            loads[m.id], linked=m.telegram_chat_id is not None and m.telegram_blocked_at is None)
                  for d, point, m in rows]
    candidates.sort(key=lambda c: (c.distance_km > nearest + NEAR_KM, not c.speciality, c.load, c.distance_km,
                                   c.mediator_id))
    return candidates[:limit]


# --- delegating and offering -------------------------------------------------------


def _check_mediator(session: Session, point_id: int, mediator_id: int) -> tuple[ServicePoint, Mediator]:
    point = session.get(ServicePoint, point_id)
    mediator = session.get(Mediator, mediator_id)
    if point is None or not point.active:
        raise ValidationError("所选服务点不存在或已关闭，请重新选择。")
    if mediator is None or mediator.status != MediatorStatus.ACTIVE.value or point not in mediator.service_points:
        raise ValidationError("所选调解员不在这个服务点或已停用，请重新选择。")
    return point, mediator


def _offer(session: Session, delegation: Delegation, point: ServicePoint, mediator: Mediator, *, actor: str,
           now: dt.datetime) -> None:
    """Give the case to a mediator and push 接受 / 拒绝; parties' contacts only after 接受."""
    case = delegation.case
    before = journal.snapshot("delegation", delegation)
    case.service_point_id, case.mediator_id = point.id, mediator.id
    delegation.status = DelegationStatus.OFFERED.value
    delegation.offers += 1
    delegation.offered_at = now
    session.flush()
    journal.audit(session, at=now, actor=actor, action="delegation.offer", entity_type="delegation",
                  entity_id=delegation.id, before=before,
                  after=journal.snapshot("delegation", delegation) | {"mediator_id": mediator.id,
                                                                      "service_point_id": point.id})
    journal.enqueue(session, key=f"deleg:{delegation.id}:offer:{delegation.offers}",
                    recipient_type=RecipientType.MEDIATOR, recipient_id=mediator.id, template="delegation_offer",
                    payload=_card(delegation, point) | {"delegation_id": delegation.id}, due_at=now)


def _card(delegation: Delegation, point: Optional[ServicePoint] = None) -> dict:
    case = delegation.case
    point = point or case.service_point
    return {
        "reference": case.reference,
        "dispute_type": case.dispute_type,
        # No phone number reaches the mediator before 接受, not even one typed into the summary.
        "summary": mask_text((case.summary or "")[:agenda.SUMMARY_CHARS]),
        "amount": amount_text(delegation.amount_cents),
        "court": delegation.court.name,
        "judge": delegation.judge,
        "deadline": delegation.deadline.isoformat(),
        "service_point": point.name if point else "",
        "address": point.address if point else "",
    }


def delegate(session: Session, *, parties: Sequence[PartyIn], dispute_type: str, summary: str,
             amount_cents: Optional[int], court_id: int, judge: str, channel: str, place_id: int,
             point_id: int, mediator_id: int, consent: bool, actor: str, now: dt.datetime,
             days: int = DEFAULT_DAYS) -> Delegation:
    """A clerk delegates a dispute: the case, its parties and the offer to the chosen mediator."""
    check_actor(actor)
    if not consent:
        raise ValidationError("请先向当事人说明并确认其同意由调解组织处理、同意法院为此保存其姓名和电话。")
    checked = _parties(parties)
    if channel not in CHANNEL_LABELS:
        raise ValidationError("请选择案件来源（立案窗口、12368热线或法官立案前委派）。")
    judge_name = clean_text(judge, limit=40, field="委派法官")
    court = session.get(Court, court_id)
    if court is None:
        raise ValidationError("请选择委派法院。")
    if amount_cents is not None and not 0 <= amount_cents < MAX_AMOUNT_CENTS:
        raise ValidationError("标的额超出范围。")
    if session.get(Place, place_id) is None:
        raise ValidationError("请选择当事人所在的乡镇。")
    if not 1 <= days <= DEFAULT_DAYS:
        raise ValidationError(f"委派期限为1到{DEFAULT_DAYS}天。")
    point, mediator = _check_mediator(session, point_id, mediator_id)
    case = cases.open_case(session, dispute_type=dispute_type, summary=summary, actor=actor,
                           source=CaseSource.DELEGATED, now=now)
    case.place_id = place_id
    delegation = Delegation(case=case, court=court, judge=judge_name, channel=channel, amount_cents=amount_cents,
                            status=DelegationStatus.OFFERED.value, delegated_at=now, created_by=actor,
                            consent_by=actor, deadline=default_deadline(now, days), offers=0)
    delegation.parties = [DelegationParty(role=p.role, name=p.name, phone=p.phone) for p in checked]
    session.add(delegation)
    session.flush()
    # Names and phones stay out of the append-only log: counts and roles only.
    journal.audit(session, at=now, actor=actor, action="delegation.create", entity_type="delegation",
                  entity_id=delegation.id, after=journal.snapshot("delegation", delegation)
                  | {"parties": [p.role for p in checked], "consent": True})
    _offer(session, delegation, point, mediator, actor=actor, now=now)
    return delegation


def reassign(session: Session, delegation_id: int, *, point_id: int, mediator_id: int, actor: str,
             now: dt.datetime) -> Delegation:
    """The clerk gives a declined (or unanswered) case to another mediator."""
    check_actor(actor)
    delegation = get(session, delegation_id, lock=True)
    if delegation.status not in (DelegationStatus.OFFERED.value, DelegationStatus.DECLINED.value):
        raise ValidationError("调解员已接受或案件已办结，不能改派。")
    point, mediator = _check_mediator(session, point_id, mediator_id)
    if delegation.status == DelegationStatus.OFFERED.value and delegation.case.mediator_id is not None:
        journal.enqueue(session, key=f"deleg:{delegation.id}:withdrawn:{delegation.offers}",
                        recipient_type=RecipientType.MEDIATOR, recipient_id=delegation.case.mediator_id,
                        template="delegation_withdrawn", payload={"reference": delegation.case.reference},
                        due_at=now)
    _offer(session, delegation, point, mediator, actor=actor, now=now)
    return delegation


def replay_unlinked_offers(session: Session, mediator_id: int, *, now: dt.datetime) -> int:
    """Offers that failed because the mediator had not linked Telegram yet are pushed again at the
    link, the latest per case still waiting for this mediator's answer. Returns how many."""
    rows = session.execute(select(OutboxMessage).where(
        OutboxMessage.recipient_type == RecipientType.MEDIATOR.value, OutboxMessage.recipient_id == mediator_id,
        OutboxMessage.status == OutboxStatus.FAILED.value, OutboxMessage.last_error == NO_CHAT,
        OutboxMessage.template == "delegation_offer").order_by(OutboxMessage.id)).scalars().all()
    latest = {row.payload.get("delegation_id"): row for row in rows if (row.payload or {}).get("delegation_id")}
    replayed = 0
    for delegation_id, row in latest.items():
        d = session.get(Delegation, delegation_id)
        if d is None or d.status != DelegationStatus.OFFERED.value or d.case.mediator_id != mediator_id:
            continue
        journal.enqueue(session, key=f"{row.idempotency_key}:linked", recipient_type=RecipientType.MEDIATOR,
                        recipient_id=mediator_id, template=row.template, payload=dict(row.payload), due_at=now)
        replayed += 1
    return replayed


# --- the mediator's answers ------------------------------------------------------------


def accept(session: Session, delegation_id: int, *, mediator_id: int, now: dt.datetime) -> bool:
    """接受: the case is being mediated and both parties are told whom to expect. False if accepted already."""
    delegation = get(session, delegation_id, lock=True)
    check_owner(delegation, mediator_id)
    if delegation.status == DelegationStatus.ACCEPTED.value:
        return False
    if delegation.status != DelegationStatus.OFFERED.value:
        raise ValidationError("这个委派案件已经不在等待您确认了。")
    actor = f"mediator:{mediator_id}"
    before = journal.snapshot("delegation", delegation)
    delegation.status = DelegationStatus.ACCEPTED.value
    delegation.accepted_at = now
    session.flush()
    journal.audit(session, at=now, actor=actor, action="delegation.accept", entity_type="delegation",
                  entity_id=delegation.id, before=before, after=journal.snapshot("delegation", delegation))
    case = delegation.case
    for stage in (CaseStatus.BOOKED, CaseStatus.MEDIATING):
        cases.advance(session, case, stage, actor=actor, now=now)
    _tell_parties(session, delegation, now=now)
    return True


def decline(session: Session, delegation_id: int, *, mediator_id: int, now: dt.datetime) -> None:
    """拒绝: back to the clerk, with a desk alert to pick another mediator."""
    delegation = get(session, delegation_id, lock=True)
    check_owner(delegation, mediator_id)
    if delegation.status != DelegationStatus.OFFERED.value:
        raise ValidationError("这个委派案件已经不在等待您确认了。")
    before = journal.snapshot("delegation", delegation)
    delegation.status = DelegationStatus.DECLINED.value
    delegation.case.mediator_id = None
    session.flush()
    journal.audit(session, at=now, actor=f"mediator:{mediator_id}", action="delegation.decline",
                  entity_type="delegation", entity_id=delegation.id, before=before,
                  after=journal.snapshot("delegation", delegation))
    desk_alert(session, delegation, "delegation_declined", f"declined:{delegation.offers}",
               mediator_id=mediator_id, now=now)


def _chat_resident(session: Session, phone: str) -> Optional[Resident]:
    """A resident with this phone the court can reach in a chat (Telegram or the web chat)."""
    rows = session.execute(
        select(Resident).where(Resident.phone == phone, Resident.anonymised_at.is_(None),
                               Resident.deletion_requested_at.is_(None)).order_by(Resident.id.desc())
    ).scalars().all()
    for resident in rows:
        if resident.telegram_user_id is not None and resident.telegram_blocked_at is None:
            return resident
        if resident.telegram_user_id is None and conversations.channel_of(resident.conversation_id) == conversations.WEB:
            return resident
    return None


def party_sms_text(reference: str, mediator: Mediator, point: ServicePoint) -> str:
    return (f"【黑河法院】您的纠纷（案件编号{reference}）已委派{point.name}{mediator.name}调解员调解，"
            f"调解员电话{mediator.phone}，地址{point.address}。")


def _tell_parties(session: Session, delegation: Delegation, *, now: dt.datetime) -> None:
    """Both parties: in their chat when they have one with the court, otherwise an SMS."""
    case = delegation.case
    mediator, point = case.mediator, case.service_point
    payload = {"reference": case.reference, "mediator": mediator.name, "mediator_phone": mediator.phone,
               "service_point": point.name, "address": point.address, "lat": point.lat, "lng": point.lng,
               "deadline": delegation.deadline.isoformat()}
    for party in delegation.parties:
        key = f"deleg:{delegation.id}:party:{party.id}:accepted:{delegation.offers}"
        resident = _chat_resident(session, party.phone)
        if resident is not None:
            journal.enqueue(session, key=key, recipient_type=RecipientType.RESIDENT, recipient_id=resident.id,
                            template="delegation_party", payload=payload | {"role": ROLE_LABELS[party.role]},
                            due_at=now)
            continue
        row = journal.enqueue(session, key=key, recipient_type=RecipientType.CHAT, recipient_id=None,
                              template="delegation_party_sms", due_at=now,
                              payload={"party_id": party.id, "reference": case.reference,
                                       "text": party_sms_text(case.reference, mediator, point)})
        row.channel = party_sms.SMS_CHANNEL  # no chat worker claims it: the SMS pass does
