"""The court database schema. The only module that defines tables.

Times are stored as naive UTC (``UTCDateTime``) so that SQLite and PostgreSQL
compare them the same way; local (Asia/Shanghai) time exists only at the edges.
"""
from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any, ClassVar, Optional

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import as_declarative, relationship
from sqlalchemy.types import TypeDecorator

from court.core import clock

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)


@as_declarative(metadata=metadata)
class Base:
    """Every table's base class; the same class ``declarative_base(metadata=metadata)`` builds.

    A decorated class rather than a ``declarative_base()`` call so that mypy sees a class
    (SQLAlchemy 1.4 ships no types); the declaration below only tells it what declarative adds.
    """

    if TYPE_CHECKING:
        metadata: ClassVar[MetaData]
        __table__: ClassVar[Table]

        def __init__(self, **kwargs: Any) -> None: ...


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out; naive UTC in the column."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Optional[dt.datetime], dialect: Any) -> Optional[dt.datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: Optional[dt.datetime], dialect: Any) -> Optional[dt.datetime]:
        if value is None:
            return None
        return value.replace(tzinfo=dt.timezone.utc)


class StrEnum(str, enum.Enum):
    def __str__(self) -> str:
        return self.value


def _values_check(column: str, enum_cls: type[StrEnum], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{m.value}'" for m in enum_cls)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


class PlaceLevel(StrEnum):
    PREFECTURE = "prefecture"
    COUNTY = "county"
    STREET = "street"
    TOWN = "town"
    TOWNSHIP = "township"
    STATE_FARM = "state_farm"
    FOREST_FARM = "forest_farm"
    OTHER_UNIT = "other_unit"
    COMMUNITY = "community"
    VILLAGE = "village"


class DisputeType(StrEnum):
    FAMILY = "family"
    NEIGHBOR = "neighbor"
    LABOR = "labor"
    DEBT = "debt"
    PROPERTY_MGMT = "property_mgmt"
    HOUSING = "housing"
    TRAFFIC = "traffic"
    CONSUMER = "consumer"
    CONTRACT = "contract"
    LAND = "land"
    MEDICAL = "medical"
    INJURY = "injury"
    OTHER = "other"


class MediatorStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    RETIRED = "retired"


class CaseSource(StrEnum):
    BOT = "bot"
    HOTLINE = "hotline"
    DELEGATED = "delegated"  # 委派调解: a dispute the court sent to a service point


class CaseStatus(StrEnum):
    INTAKE = "intake"
    BOOKED = "booked"
    MEDIATING = "mediating"
    AGREEMENT = "agreement"
    FAILED = "failed"
    JC_REQUESTED = "jc_requested"
    CLOSED = "closed"


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    DONE = "done"
    NO_SHOW = "no_show"


# Appointments in these states hold the mediator's time.
ACTIVE_APPOINTMENT_STATUSES = (
    AppointmentStatus.BOOKED,
    AppointmentStatus.ACCEPTED,
    AppointmentStatus.RESCHEDULED,
)


class OutcomeResult(StrEnum):
    SUCCESS = "success"
    FAILED = "failed"
    AGREEMENT_NEEDS_CONFIRMATION = "agreement_needs_confirmation"
    NO_SHOW = "no_show"


class HandoffStatus(StrEnum):
    WAITING = "waiting"
    TAKEN = "taken"
    RETURNING = "returning"  # given back, but the assistant has not resumed the chat yet: retried
    RETURNED = "returned"
    CLOSED = "closed"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the last attempt
    CANCELLED = "cancelled"  # superseded (e.g. a reminder for a moved appointment)


class InboundStatus(StrEnum):
    PENDING = "pending"  # received, not yet answered by the assistant
    DELIVERED = "delivered"
    KEPT = "kept"  # the assistant stayed down too long: kept for a hotline agent


class ErasureStatus(StrEnum):
    PENDING = "pending"  # the assistant has not confirmed yet: retried with backoff
    DONE = "done"


class ErasureReason(StrEnum):
    RESIDENT = "resident"  # /delete_my_data: the resident is told when it is done
    RETENTION = "retention"  # the retention rules (court/records/retention.py)


class RecipientType(StrEnum):
    RESIDENT = "resident"
    MEDIATOR = "mediator"
    COURT = "court"
    CHAT = "chat"  # a Telegram chat known only by its conversation id (tg-<chat id>)


class DelegationStatus(StrEnum):
    OFFERED = "offered"  # pushed to the mediator, waiting for 接受 / 拒绝
    DECLINED = "declined"  # the mediator said no: the clerk picks another
    ACCEPTED = "accepted"  # the mediator is working on it
    SETTLED = "settled"  # agreement (with or without 司法确认)
    RETURNED = "returned"  # 调解不成，转立案: back to the court's filing


OPEN_DELEGATION_STATUSES = (DelegationStatus.OFFERED, DelegationStatus.DECLINED, DelegationStatus.ACCEPTED)


class DelegationChannel(StrEnum):
    WINDOW = "window"  # the filing window
    HOTLINE = "hotline"  # 12368
    JUDGE = "judge"  # a judge before filing


class PartyRole(StrEnum):
    APPLICANT = "applicant"  # 申请人
    RESPONDENT = "respondent"  # 被申请人


class DelegationLogKind(StrEnum):
    CONTACT = "contact"  # a call or visit to reach a party
    SESSION = "session"  # a mediation session


class DeskRole(StrEnum):
    AGENT = "agent"  # 12368 hotline: the queue, handoffs, phone intakes
    CLERK = "clerk"  # court clerk: statistics and scorecards, read only
    ADMIN = "admin"  # everything, and managing mediators and service points
    PARTNER = "partner"  # a township, department or mediation organisation: its own support requests only


class OrganisationKind(StrEnum):
    TOWNSHIP = "township"  # a township or street government (乡镇街道)
    DEPARTMENT = "department"  # a government department (职能部门)
    MEDIATION = "mediation"  # a mediation organisation (调解组织)


class RequestKind(StrEnum):
    LEGAL_SUPPORT = "legal_support"  # 法律支持
    MEDIATION_GUIDANCE = "mediation_guidance"  # 指导调解
    JUDICIAL_CONFIRMATION = "judicial_confirmation"  # 司法确认
    LEGAL_EDUCATION = "legal_education"  # 普法宣传/培训


class RequestStatus(StrEnum):
    OPEN = "open"  # filed, nobody assigned yet
    ASSIGNED = "assigned"  # a judge or clerk has it
    ANSWERED = "answered"  # the court replied; the organisation may rate it
    CLOSED = "closed"


# --- geography and institutions -------------------------------------------


class Place(Base):
    __tablename__ = "places"
    id = Column(Integer, primary_key=True)
    code = Column(String(12), nullable=False, unique=True)  # 12-digit statistics code
    name = Column(String(40), nullable=False)
    level = Column(String(16), nullable=False)
    parent_id = Column(Integer, ForeignKey("places.id"), index=True)
    county_code = Column(String(6), index=True)
    lat = Column(Float)
    lng = Column(Float)
    coord_source = Column(String(200))
    # True when the point is the county seat standing in for unknown coordinates.
    coord_fallback = Column(Boolean, nullable=False, default=False)

    parent = relationship("Place", remote_side=[id])
    aliases = relationship("PlaceAlias", back_populates="place", cascade="all, delete-orphan")
    __table_args__ = (_values_check("level", PlaceLevel, "level"),)


class PlaceAlias(Base):
    __tablename__ = "place_aliases"
    id = Column(Integer, primary_key=True)
    place_id = Column(Integer, ForeignKey("places.id", ondelete="CASCADE"), nullable=False, index=True)
    alias = Column(String(40), nullable=False)
    place = relationship("Place", back_populates="aliases")
    __table_args__ = (UniqueConstraint("place_id", "alias", name="uq_place_aliases_place_alias"),)


court_areas = Table(
    "court_areas",
    metadata,
    Column("court_id", ForeignKey("courts.id", ondelete="CASCADE"), primary_key=True),
    Column("place_id", ForeignKey("places.id", ondelete="CASCADE"), primary_key=True),
)


class Court(Base):
    __tablename__ = "courts"
    id = Column(Integer, primary_key=True)
    name = Column(String(60), nullable=False, unique=True)
    level = Column(String(20), nullable=False)  # intermediate, basic, tribunal, special-farm, special-forest
    county_code = Column(String(6))
    parent_id = Column(Integer, ForeignKey("courts.id"))
    address = Column(String(200))
    note = Column(Text)
    areas = relationship("Place", secondary=court_areas)


class ServicePoint(Base):
    """A mediation service point (调解工作服务点) in a community or township."""

    __tablename__ = "service_points"
    id = Column(Integer, primary_key=True)
    code = Column(String(32), nullable=False, unique=True)
    name = Column(String(80), nullable=False)
    place_id = Column(Integer, ForeignKey("places.id"), nullable=False, index=True)
    address = Column(String(200), nullable=False)
    lat = Column(Float, nullable=False)
    lng = Column(Float, nullable=False)
    court_id = Column(Integer, ForeignKey("courts.id"), nullable=False)
    slot_minutes = Column(Integer, nullable=False, default=60)
    active = Column(Boolean, nullable=False, default=True)
    is_demo = Column(Boolean, nullable=False, default=False)

    place = relationship("Place")
    court = relationship("Court")
    hours = relationship("ServicePointHours", cascade="all, delete-orphan", order_by="ServicePointHours.weekday")
    mediators = relationship("Mediator", secondary="mediator_points", back_populates="service_points")
    __table_args__ = (CheckConstraint("slot_minutes BETWEEN 15 AND 240", name="slot_minutes"),)


class ServicePointHours(Base):
    """Weekly opening window; several rows per weekday allow a lunch break."""

    __tablename__ = "service_point_hours"
    id = Column(Integer, primary_key=True)
    service_point_id = Column(Integer, ForeignKey("service_points.id", ondelete="CASCADE"), nullable=False, index=True)
    weekday = Column(Integer, nullable=False)  # Monday = 0
    opens = Column(Time, nullable=False)
    closes = Column(Time, nullable=False)
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("opens < closes", name="window"),
    )


# --- mediators ----------------------------------------------------------------

mediator_points = Table(
    "mediator_points",
    metadata,
    Column("mediator_id", ForeignKey("mediators.id", ondelete="CASCADE"), primary_key=True),
    Column("service_point_id", ForeignKey("service_points.id", ondelete="CASCADE"), primary_key=True),
)


class Mediator(Base):
    __tablename__ = "mediators"
    id = Column(Integer, primary_key=True)
    code = Column(String(32), nullable=False, unique=True)
    name = Column(String(40), nullable=False)
    phone = Column(String(20), nullable=False)
    telegram_chat_id = Column(BigInteger, unique=True)
    telegram_linked_at = Column(UTCDateTime)
    telegram_blocked_at = Column(UTCDateTime)  # Telegram answered 403: pushes cannot reach them
    status = Column(String(12), nullable=False, default=MediatorStatus.ACTIVE.value)
    appointed_on = Column(Date)
    retired_on = Column(Date)
    is_demo = Column(Boolean, nullable=False, default=False)

    service_points = relationship("ServicePoint", secondary=mediator_points, back_populates="mediators")
    specialities = relationship("MediatorSpeciality", cascade="all, delete-orphan")
    availability = relationship("MediatorAvailability", cascade="all, delete-orphan")
    exceptions = relationship("MediatorException", cascade="all, delete-orphan")
    __table_args__ = (_values_check("status", MediatorStatus, "status"),)

    @property
    def dispute_types(self) -> set[str]:
        return {s.dispute_type for s in self.specialities}


class MediatorSpeciality(Base):
    __tablename__ = "mediator_specialities"
    mediator_id = Column(Integer, ForeignKey("mediators.id", ondelete="CASCADE"), primary_key=True)
    dispute_type = Column(String(16), primary_key=True)
    __table_args__ = (_values_check("dispute_type", DisputeType, "dispute_type"),)


class MediatorAvailability(Base):
    """Weekly hours a mediator can receive parties."""

    __tablename__ = "mediator_availability"
    id = Column(Integer, primary_key=True)
    mediator_id = Column(Integer, ForeignKey("mediators.id", ondelete="CASCADE"), nullable=False, index=True)
    weekday = Column(Integer, nullable=False)
    starts = Column(Time, nullable=False)
    ends = Column(Time, nullable=False)
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday"),
        CheckConstraint("starts < ends", name="window"),
    )


class MediatorException(Base):
    """Leave, training or other days off, inclusive dates."""

    __tablename__ = "mediator_exceptions"
    id = Column(Integer, primary_key=True)
    mediator_id = Column(Integer, ForeignKey("mediators.id", ondelete="CASCADE"), nullable=False, index=True)
    starts_on = Column(Date, nullable=False)
    ends_on = Column(Date, nullable=False)
    kind = Column(String(16), nullable=False, default="leave")
    note = Column(String(200))
    __table_args__ = (CheckConstraint("starts_on <= ends_on", name="range"),)


class TrainingSession(Base):
    """A training or study session for mediators (培训、进修), recorded by an admin."""

    __tablename__ = "training_sessions"
    id = Column(Integer, primary_key=True)
    held_on = Column(Date, nullable=False, index=True)
    topic = Column(String(120), nullable=False)
    hours = Column(Float, nullable=False)
    recorded_by = Column(String(64), nullable=False)
    recorded_at = Column(UTCDateTime, nullable=False, default=clock.now)
    attendees = relationship("Mediator", secondary="training_attendance", order_by="Mediator.id")
    __table_args__ = (CheckConstraint("hours > 0 AND hours <= 24", name="hours"),)


training_attendance = Table(
    "training_attendance",
    metadata,
    Column("session_id", ForeignKey("training_sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("mediator_id", ForeignKey("mediators.id", ondelete="CASCADE"), primary_key=True, index=True),
)


# --- residents and cases ----------------------------------------------------


class Resident(Base):
    __tablename__ = "residents"
    id = Column(Integer, primary_key=True)
    name = Column(String(40))
    phone = Column(String(20), index=True)
    id_number = Column(String(18))
    telegram_user_id = Column(BigInteger, unique=True)
    telegram_blocked_at = Column(UTCDateTime)  # Telegram answered 403: pushes cannot reach them
    conversation_id = Column(String(64), unique=True)  # the chat's sender id in the assistant
    consent_at = Column(UTCDateTime)
    consent_version = Column(String(20))
    deletion_requested_at = Column(UTCDateTime)
    anonymised_at = Column(UTCDateTime)
    created_at = Column(UTCDateTime, nullable=False, default=clock.now)


class Case(Base):
    __tablename__ = "cases"
    id = Column(Integer, primary_key=True)
    reference = Column(String(20), nullable=False, unique=True)
    dispute_type = Column(String(16), nullable=False)
    summary = Column(Text)
    recommended_channel = Column(String(200))
    source = Column(String(10), nullable=False, default=CaseSource.BOT.value)
    status = Column(String(16), nullable=False, default=CaseStatus.INTAKE.value, index=True)
    resident_id = Column(Integer, ForeignKey("residents.id"), index=True)
    service_point_id = Column(Integer, ForeignKey("service_points.id"), index=True)
    mediator_id = Column(Integer, ForeignKey("mediators.id"), index=True)
    conversation_id = Column(String(64), index=True)  # Rasa sender id
    # Where the dispute is, for the statistics by area: the resident's town when
    # they named it, else the booked service point's.
    place_id = Column(Integer, ForeignKey("places.id"), index=True)
    created_at = Column(UTCDateTime, nullable=False, default=clock.now, index=True)
    updated_at = Column(UTCDateTime, nullable=False, default=clock.now, onupdate=clock.now)
    # One timestamp per lifecycle stage, for the statistics.
    booked_at = Column(UTCDateTime)
    mediating_at = Column(UTCDateTime)
    agreement_at = Column(UTCDateTime)
    failed_at = Column(UTCDateTime)
    jc_requested_at = Column(UTCDateTime)
    closed_at = Column(UTCDateTime)
    # Lookups by reference and phone that got the phone wrong, and the pause they earned.
    lookup_failures = Column(Integer, nullable=False, default=0, server_default="0")
    lookup_paused_until = Column(UTCDateTime)

    resident = relationship("Resident")
    service_point = relationship("ServicePoint")
    mediator = relationship("Mediator")
    appointments = relationship("Appointment", back_populates="case", order_by="Appointment.id")
    __table_args__ = (
        _values_check("dispute_type", DisputeType, "dispute_type"),
        _values_check("status", CaseStatus, "status"),
        _values_check("source", CaseSource, "source"),
    )


class Appointment(Base):
    """A meeting with a mediator. The database itself refuses two active
    appointments of one mediator that overlap (see the migration)."""

    __tablename__ = "appointments"
    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("cases.id"), nullable=False, index=True)
    service_point_id = Column(Integer, ForeignKey("service_points.id"), nullable=False, index=True)
    mediator_id = Column(Integer, ForeignKey("mediators.id"), nullable=False)
    starts_at = Column(UTCDateTime, nullable=False)
    ends_at = Column(UTCDateTime, nullable=False)
    status = Column(String(12), nullable=False, default=AppointmentStatus.BOOKED.value)
    revision = Column(Integer, nullable=False, default=1)  # bumps on every change; part of push keys
    note = Column(String(200))
    created_at = Column(UTCDateTime, nullable=False, default=clock.now)
    updated_at = Column(UTCDateTime, nullable=False, default=clock.now, onupdate=clock.now)
    responded_at = Column(UTCDateTime)  # mediator accepted or declined

    case = relationship("Case", back_populates="appointments")
    service_point = relationship("ServicePoint")
    mediator = relationship("Mediator")
    __table_args__ = (
        _values_check("status", AppointmentStatus, "status"),
        CheckConstraint("starts_at < ends_at", name="window"),
        Index("ix_appointments_mediator_starts", "mediator_id", "starts_at"),
    )


class Outcome(Base):
    __tablename__ = "outcomes"
    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("cases.id"), nullable=False, index=True)
    appointment_id = Column(Integer, ForeignKey("appointments.id"))
    result = Column(String(32), nullable=False)
    agreement_summary = Column(Text)
    jc_requested_at = Column(UTCDateTime)
    jc_filed_at = Column(UTCDateTime)
    recorded_by = Column(String(64), nullable=False)
    recorded_at = Column(UTCDateTime, nullable=False, default=clock.now)
    __table_args__ = (_values_check("result", OutcomeResult, "result"),)


class ConfirmationResult(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class Agreement(Base):
    """The people's mediation agreement (人民调解协议书) drafted from a successful outcome:
    what the outcome does not hold, entered on the desk. Kept with its case; the
    parties' personal data goes when a resident asks for erasure (court/records/erasure.py)."""

    __tablename__ = "agreements"
    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, unique=True)
    organisation = Column(String(80), nullable=False)  # the mediation organisation (人民调解委员会)
    facts = Column(Text, nullable=False)
    terms = Column(Text, nullable=False)
    performance = Column(Text, nullable=False)  # how and by when the terms are performed
    effective_on = Column(Date, nullable=False)  # signed and sealed (人民调解法第29条)
    court_id = Column(Integer, ForeignKey("courts.id"), nullable=False)
    intermediate = Column(Boolean, nullable=False, default=False)  # the dispute is an intermediate court's
    revision = Column(Integer, nullable=False, default=1)  # bumps on every change; printed copies name theirs
    content_hash = Column(String(64), nullable=False)  # SHA-256 of the documents' content at this revision
    created_at = Column(UTCDateTime, nullable=False, default=clock.now)
    updated_at = Column(UTCDateTime, nullable=False, default=clock.now)
    updated_by = Column(String(64), nullable=False)

    case = relationship("Case")
    court = relationship("Court")
    parties = relationship("AgreementParty", cascade="all, delete-orphan", order_by="AgreementParty.position")


class AgreementParty(Base):
    __tablename__ = "agreement_parties"
    id = Column(Integer, primary_key=True)
    agreement_id = Column(Integer, ForeignKey("agreements.id", ondelete="CASCADE"), nullable=False, index=True)
    position = Column(Integer, nullable=False)
    name = Column(String(40))
    id_number = Column(String(18))
    address = Column(String(200))
    __table_args__ = (UniqueConstraint("agreement_id", "position", name="uq_agreement_parties_position"),)


class ConfirmationRequest(Base):
    """The joint application for judicial confirmation as filed with the court, its
    30-day deadline and the court's ruling."""

    __tablename__ = "confirmation_requests"
    id = Column(Integer, primary_key=True)
    agreement_id = Column(Integer, ForeignKey("agreements.id", ondelete="CASCADE"), nullable=False, unique=True)
    case_id = Column(Integer, ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True)
    court_id = Column(Integer, ForeignKey("courts.id"), nullable=False)
    filed_on = Column(Date, nullable=False)
    deadline = Column(Date, nullable=False)
    result = Column(String(12), nullable=False, default=ConfirmationResult.PENDING.value)
    reason = Column(Text)  # why the court rejected it
    decided_on = Column(Date)
    recorded_by = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=clock.now)
    updated_at = Column(UTCDateTime, nullable=False, default=clock.now)

    court = relationship("Court")
    __table_args__ = (
        _values_check("result", ConfirmationResult, "result"),
        CheckConstraint("result <> 'rejected' OR reason IS NOT NULL", name="reason"),
        CheckConstraint("decided_on IS NULL OR decided_on >= filed_on", name="decided"),
    )


class Handoff(Base):
    """A conversation passed between the bot and a 12368 hotline agent."""

    __tablename__ = "handoffs"
    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(64), nullable=False, index=True)
    case_id = Column(Integer, ForeignKey("cases.id"))
    resident_id = Column(Integer, ForeignKey("residents.id"))
    reason = Column(String(32), nullable=False)
    status = Column(String(10), nullable=False, default=HandoffStatus.WAITING.value, index=True)
    agent = Column(String(64))
    created_at = Column(UTCDateTime, nullable=False, default=clock.now)
    taken_at = Column(UTCDateTime)
    returned_at = Column(UTCDateTime)
    closed_at = Column(UTCDateTime)
    note = Column(Text)
    # The one "kept for the agent" answer to messages sent while waiting.
    acknowledged_at = Column(UTCDateTime)
    # When the resident was told that no agent took it within the court's waiting limit.
    overdue_at = Column(UTCDateTime)
    # Giving back to the assistant while it was down: retried with backoff.
    resume_attempts = Column(Integer, nullable=False, default=0, server_default="0")
    resume_next_at = Column(UTCDateTime)
    __table_args__ = (_values_check("status", HandoffStatus, "status"),)


class OutboxMessage(Base):
    """A push to deliver. Written in the transaction of the change that causes it."""

    __tablename__ = "outbox"
    id = Column(Integer, primary_key=True)
    idempotency_key = Column(String(160), nullable=False, unique=True)
    channel = Column(String(16), nullable=False, default="telegram")
    recipient_type = Column(String(10), nullable=False)
    recipient_id = Column(Integer)
    template = Column(String(48), nullable=False)
    payload = Column(JSON, nullable=False, default=dict)
    due_at = Column(UTCDateTime, nullable=False, default=clock.now)
    status = Column(String(10), nullable=False, default=OutboxStatus.PENDING.value)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(UTCDateTime, nullable=False, default=clock.now)
    last_error = Column(Text)
    sent_at = Column(UTCDateTime)
    created_at = Column(UTCDateTime, nullable=False, default=clock.now)
    __table_args__ = (
        _values_check("status", OutboxStatus, "status"),
        _values_check("recipient_type", RecipientType, "recipient_type"),
        Index("ix_outbox_pending", "status", "next_attempt_at"),
    )


class AuditEntry(Base):
    """Append-only: the migration installs triggers that refuse UPDATE and DELETE."""

    __tablename__ = "audit_log"
    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime, nullable=False, default=clock.now, index=True)
    actor = Column(String(64), nullable=False)
    action = Column(String(48), nullable=False)
    entity_type = Column(String(24), nullable=False)
    entity_id = Column(Integer, nullable=False)
    before = Column(JSON)
    after = Column(JSON)
    __table_args__ = (Index("ix_audit_entity", "entity_type", "entity_id"),)


# --- messaging channel state ------------------------------------------------


class LinkCode(Base):
    """A one-time code a clerk issues so a mediator can link their Telegram chat.
    Only a hash is stored: a leaked database does not leak usable codes."""

    __tablename__ = "link_codes"
    id = Column(Integer, primary_key=True)
    mediator_id = Column(Integer, ForeignKey("mediators.id", ondelete="CASCADE"), nullable=False, index=True)
    code_hash = Column(String(64), nullable=False, unique=True)
    issued_by = Column(String(64), nullable=False)
    issued_at = Column(UTCDateTime, nullable=False, default=clock.now)
    expires_at = Column(UTCDateTime, nullable=False)
    used_at = Column(UTCDateTime)
    used_chat_id = Column(BigInteger)
    revoked_at = Column(UTCDateTime)

    mediator = relationship("Mediator")


class ChatButton(Base):
    """An inline button's real payload, kept on the server: Telegram carries only
    the opaque token, so a modified client cannot forge what a button does."""

    __tablename__ = "chat_buttons"
    token = Column(String(32), primary_key=True)
    keyboard = Column(String(32), nullable=False, index=True)  # buttons shown together are used up together
    chat_id = Column(BigInteger, nullable=False, index=True)
    label = Column(String(64), nullable=False)
    payload = Column(Text, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=clock.now)
    expires_at = Column(UTCDateTime, nullable=False)
    used_at = Column(UTCDateTime)


class InboundMessage(Base):
    """Every message a resident sends, written before it is relayed, so an
    outage of the assistant loses nothing: it is retried, then kept for an agent."""

    __tablename__ = "inbound_messages"
    id = Column(Integer, primary_key=True)
    update_id = Column(BigInteger, unique=True)  # Telegram's update id: a redelivered update is recorded once
    chat_id = Column(BigInteger, nullable=False, index=True)
    conversation_id = Column(String(64), nullable=False)
    text = Column(Text, nullable=False)
    meta = Column(JSON, nullable=False, default=dict)
    status = Column(String(10), nullable=False, default=InboundStatus.PENDING.value)
    attempts = Column(Integer, nullable=False, default=0)
    received_at = Column(UTCDateTime, nullable=False, default=clock.now)
    next_attempt_at = Column(UTCDateTime, nullable=False, default=clock.now)
    delivered_at = Column(UTCDateTime)
    last_error = Column(Text)
    __table_args__ = (
        _values_check("status", InboundStatus, "status"),
        Index("ix_inbound_pending", "status", "next_attempt_at"),
    )


class TranscriptErasure(Base):
    """A conversation's transcript to erase in the assistant's tracker store: a durable
    job, retried until the assistant confirms. Its ids are cleared once it is done."""

    __tablename__ = "transcript_erasures"
    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(64))  # NULL once done
    chat_id = Column(BigInteger)  # whom to tell when it is done; NULL once done
    reason = Column(String(10), nullable=False)
    status = Column(String(10), nullable=False, default=ErasureStatus.PENDING.value)
    attempts = Column(Integer, nullable=False, default=0)
    requested_at = Column(UTCDateTime, nullable=False, default=clock.now)
    next_attempt_at = Column(UTCDateTime, nullable=False, default=clock.now)
    last_error = Column(Text)
    done_at = Column(UTCDateTime)
    __table_args__ = (
        _values_check("status", ErasureStatus, "status"),
        _values_check("reason", ErasureReason, "reason"),
        Index("ix_transcript_erasures_due", "status", "next_attempt_at"),
    )


# --- the 12368 hotline desk ---------------------------------------------------


class DeskUser(Base):
    """A hotline agent or admin who signs in to the desk."""

    __tablename__ = "desk_users"
    id = Column(Integer, primary_key=True)
    username = Column(String(40), nullable=False, unique=True)
    display_name = Column(String(40), nullable=False)
    password_hash = Column(String(200), nullable=False)
    role = Column(String(10), nullable=False, default=DeskRole.AGENT.value)
    # A partner account's township, department or mediation organisation (NULL for court staff).
    organisation_id = Column(Integer, ForeignKey("partner_organisations.id"), index=True)
    active = Column(Boolean, nullable=False, default=True)
    failed_logins = Column(Integer, nullable=False, default=0)
    locked_until = Column(UTCDateTime)
    last_login_at = Column(UTCDateTime)
    created_at = Column(UTCDateTime, nullable=False, default=clock.now)
    __table_args__ = (_values_check("role", DeskRole, "role"),)


class PartnerOrganisation(Base):
    """A township, department or mediation organisation that files support requests (接诉即办)."""

    __tablename__ = "partner_organisations"
    id = Column(Integer, primary_key=True)
    name = Column(String(60), nullable=False, unique=True)
    kind = Column(String(12), nullable=False)
    # A township's or street's own place; a department's or organisation's seat, when known.
    place_id = Column(Integer, ForeignKey("places.id"), index=True)
    created_at = Column(UTCDateTime, nullable=False, default=clock.now)
    place = relationship("Place")
    __table_args__ = (_values_check("kind", OrganisationKind, "kind"),)


class SupportRequest(Base):
    """A township's or organisation's request to the court (接诉即办): filed, assigned, answered, rated."""

    __tablename__ = "support_requests"
    id = Column(Integer, primary_key=True)
    organisation_id = Column(Integer, ForeignKey("partner_organisations.id"), nullable=False, index=True)
    kind = Column(String(24), nullable=False)
    description = Column(Text, nullable=False)
    status = Column(String(10), nullable=False, default=RequestStatus.OPEN.value, index=True)
    filed_by = Column(String(40), nullable=False)
    filed_at = Column(UTCDateTime, nullable=False, default=clock.now, index=True)
    assignee_id = Column(Integer, ForeignKey("desk_users.id"))
    assigned_at = Column(UTCDateTime)
    reply = Column(Text)
    answered_by = Column(String(40))
    answered_at = Column(UTCDateTime)
    closed_at = Column(UTCDateTime)
    rating = Column(Integer)
    rated_at = Column(UTCDateTime)
    # When the desk was alerted that no answer came within the court's response time (once).
    overdue_alerted_at = Column(UTCDateTime)

    organisation = relationship("PartnerOrganisation")
    assignee = relationship("DeskUser")
    __table_args__ = (
        _values_check("kind", RequestKind, "kind"),
        _values_check("status", RequestStatus, "status"),
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", name="rating"),
    )


class DeskSession(Base):
    """A signed-in desk session, kept on the server: signing out, half an hour without
    a click, or twelve hours end it for every copy of its cookie."""

    __tablename__ = "desk_sessions"
    id = Column(String(64), primary_key=True)  # SHA-256 of the token in the cookie, never the token
    user_id = Column(Integer, ForeignKey("desk_users.id", ondelete="CASCADE"), nullable=False, index=True)
    created_at = Column(UTCDateTime, nullable=False, default=clock.now)
    last_seen_at = Column(UTCDateTime, nullable=False, default=clock.now)
    ended_at = Column(UTCDateTime)


class IntakeLink(Base):
    """A one-time Telegram deep link for a phone caller's intake; only its hash is kept."""

    __tablename__ = "intake_links"
    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("cases.id"), nullable=False, index=True)
    token_hash = Column(String(64), nullable=False, unique=True)
    created_by = Column(String(64), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=clock.now)
    expires_at = Column(UTCDateTime, nullable=False)
    used_at = Column(UTCDateTime)
    used_chat_id = Column(BigInteger)
    case = relationship("Case")


class CalendarDayKind(StrEnum):
    HOLIDAY = "holiday"  # a statutory day off (on a weekday or inside a festival's weekend)
    WORKDAY = "workday"  # a day the court confirmed as working: an adjusted weekend (调休) or a checked weekday


class CalendarDay(Base):
    """The court's own holiday calendar: the booking engine reads only this, never a package."""

    __tablename__ = "calendar_days"
    day = Column(Date, primary_key=True)
    kind = Column(String(16), nullable=False)
    name = Column(String(40), nullable=False)
    entered_by = Column(String(64), nullable=False)
    entered_at = Column(UTCDateTime, nullable=False, default=clock.now)
    __table_args__ = (_values_check("kind", CalendarDayKind, "kind"),)


class CalendarYear(Base):
    """A year whose State Council schedule the court has entered in full (published)."""

    __tablename__ = "calendar_years"
    year = Column(Integer, primary_key=True)
    source = Column(String(64), nullable=False)
    published_by = Column(String(64), nullable=False)
    published_at = Column(UTCDateTime, nullable=False, default=clock.now)


class WebConversation(Base):
    """A resident's anonymous web chat (conversation id ``web-<id>``), known to the
    browser only by a long random id in an HttpOnly cookie; only its hash is kept."""

    __tablename__ = "web_conversations"
    id = Column(Integer, primary_key=True)
    cookie_hash = Column(String(64), nullable=False, unique=True)
    created_at = Column(UTCDateTime, nullable=False, default=clock.now)
    last_seen_at = Column(UTCDateTime, nullable=False, default=clock.now)
    read_up_to = Column(Integer, nullable=False, default=0)  # the last message the resident has seen
    # The service point whose QR poster opened the chat: offered as the place when booking.
    start_point_id = Column(Integer, ForeignKey("service_points.id", ondelete="SET NULL"))


class WebMessage(Base):
    """What the web chat shows: the page is the resident's only copy, as Telegram's
    servers are for a Telegram chat. Kept as long as transcripts; erased with the resident."""

    __tablename__ = "web_messages"
    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("web_conversations.id", ondelete="CASCADE"), nullable=False,
                             index=True)
    role = Column(String(10), nullable=False)  # resident, assistant, push
    text = Column(Text, nullable=False, default="")
    buttons = Column(JSON, nullable=False, default=list)  # [[label, opaque token], ...]
    venue = Column(JSON)
    keyboard = Column(String(16))  # the question asks for a place or a phone
    chosen = Column(String(64))  # the label pressed, once a keyboard is used
    outbox_id = Column(Integer, unique=True)  # a push delivered twice is shown once
    created_at = Column(UTCDateTime, nullable=False, default=clock.now)


# --- 委派调解: disputes the court delegates to a service point -----------------


class Delegation(Base):
    """The court's side of a delegated case (one per case): who sent it, until when, and how it came back."""

    __tablename__ = "delegations"
    id = Column(Integer, primary_key=True)
    case_id = Column(Integer, ForeignKey("cases.id"), nullable=False, unique=True)
    court_id = Column(Integer, ForeignKey("courts.id"), nullable=False, index=True)
    judge = Column(String(40), nullable=False)
    channel = Column(String(10), nullable=False)
    amount_cents = Column(BigInteger)  # 标的额, when there is one
    status = Column(String(10), nullable=False, default=DelegationStatus.OFFERED.value, index=True)
    delegated_at = Column(UTCDateTime, nullable=False, default=clock.now)
    created_by = Column(String(64), nullable=False)
    consent_by = Column(String(64), nullable=False)  # the clerk who recorded the parties' consent
    deadline = Column(Date, nullable=False)  # the last local day
    original_deadline = Column(Date)  # set once, when the deadline was extended
    extension_reason = Column(String(200))
    extended_at = Column(UTCDateTime)
    offers = Column(Integer, nullable=False, default=0)  # pushes to a mediator so far (part of push keys)
    offered_at = Column(UTCDateTime)
    accepted_at = Column(UTCDateTime)
    outcome_at = Column(UTCDateTime)
    return_note = Column(String(200))  # the mediator's short note on a failure
    alert_level = Column(String(8))  # the last deadline alert raised for this deadline: d7, d1, overdue
    case = relationship("Case")
    court = relationship("Court")
    parties = relationship("DelegationParty", cascade="all, delete-orphan", order_by="DelegationParty.id")
    log = relationship("DelegationLog", cascade="all, delete-orphan", order_by="DelegationLog.at")
    __table_args__ = (
        _values_check("status", DelegationStatus, "status"),
        _values_check("channel", DelegationChannel, "channel"),
        CheckConstraint("amount_cents IS NULL OR amount_cents >= 0", name="amount"),
    )


class DelegationParty(Base):
    """A party of a delegated case: held by the court for the case, not a chat resident."""

    __tablename__ = "delegation_parties"
    id = Column(Integer, primary_key=True)
    delegation_id = Column(Integer, ForeignKey("delegations.id", ondelete="CASCADE"), nullable=False, index=True)
    role = Column(String(12), nullable=False)
    name = Column(String(40), nullable=False)
    phone = Column(String(20), nullable=False)
    __table_args__ = (_values_check("role", PartyRole, "role"),)


class DelegationLog(Base):
    """The mediator's contact attempts and sessions on a delegated case."""

    __tablename__ = "delegation_log"
    id = Column(Integer, primary_key=True)
    delegation_id = Column(Integer, ForeignKey("delegations.id", ondelete="CASCADE"), nullable=False, index=True)
    kind = Column(String(10), nullable=False)
    at = Column(UTCDateTime, nullable=False, default=clock.now)
    note = Column(String(200), nullable=False)
    recorded_by = Column(String(64), nullable=False)
    __table_args__ = (_values_check("kind", DelegationLogKind, "kind"),)
