"""The Chinese words for the court's enums: one word per value for each audience, so a suspended
mediator, a failed mediation or an unclassified dispute reads the same on every page, push and
export. Residents, mediators and staff differ only where they need different words (an
appointment "待您确认" for its mediator is "已预约，等待调解员确认" for the resident)."""
from __future__ import annotations

from typing import Optional

from court.reference import guidance
from court.store.schema import (
    AppointmentStatus,
    CaseSource,
    CaseStatus,
    DelegationStatus,
    MediatorStatus,
    OutcomeResult,
)

UNCLASSIFIED = "未分类"


def dispute(dispute_type: Optional[str]) -> str:
    """A dispute type's name (guidance's card), 未分类 when there is none or it is unknown."""
    if not dispute_type:
        return UNCLASSIFIED
    try:
        return guidance.card(dispute_type).label
    except ValueError:
        return UNCLASSIFIED


MEDIATOR_STATUS = {
    MediatorStatus.ACTIVE.value: "在任",
    MediatorStatus.SUSPENDED.value: "已停用",
    MediatorStatus.RETIRED.value: "已退出",
}

# 调解不成: the word of the People's Mediation Law (《人民调解法》第26条) and of the court's filing.
OUTCOME_RESULT = {
    OutcomeResult.SUCCESS.value: "调解成功",
    OutcomeResult.FAILED.value: "调解不成",
    OutcomeResult.AGREEMENT_NEEDS_CONFIRMATION.value: "达成协议并申请司法确认",
    OutcomeResult.NO_SHOW.value: "当事人未到",
}

CASE_STATUS = {
    CaseStatus.INTAKE.value: "待预约",
    CaseStatus.BOOKED.value: "已预约",
    CaseStatus.MEDIATING.value: "调解中",
    CaseStatus.AGREEMENT.value: "达成协议",
    CaseStatus.FAILED.value: "调解不成",
    CaseStatus.JC_REQUESTED.value: "已申请司法确认",
    CaseStatus.CLOSED.value: "已结案",
}

CASE_SOURCE = {
    CaseSource.BOT.value: "助手",
    CaseSource.HOTLINE.value: "12368热线",
    CaseSource.DELEGATED.value: "法院委派",
}

# Staff (desk, audit trails): short states.
APPOINTMENT_STATUS = {
    AppointmentStatus.BOOKED.value: "待确认",
    AppointmentStatus.ACCEPTED.value: "已接受",
    AppointmentStatus.DECLINED.value: "已拒绝",
    AppointmentStatus.RESCHEDULED.value: "已改期",
    AppointmentStatus.CANCELLED.value: "已取消",
    AppointmentStatus.DONE.value: "已结束",
    AppointmentStatus.NO_SHOW.value: "当事人未到",
}

# Residents: what happens next, in a sentence.
APPOINTMENT_STATUS_FOR_RESIDENTS = {
    AppointmentStatus.BOOKED.value: "已预约，等待调解员确认",
    AppointmentStatus.ACCEPTED.value: "调解员已确认",
    AppointmentStatus.RESCHEDULED.value: "已改约，等待调解员确认",
    AppointmentStatus.DECLINED.value: "调解员无法接待，正在重新安排",
    AppointmentStatus.CANCELLED.value: "已取消",
    AppointmentStatus.DONE.value: "已完成",
    AppointmentStatus.NO_SHOW.value: "当事人未到",
}

# Mediators: their own agenda, addressed to them.
APPOINTMENT_STATUS_FOR_MEDIATORS = {
    AppointmentStatus.BOOKED.value: "待您确认",
    AppointmentStatus.ACCEPTED.value: "已接受",
    AppointmentStatus.RESCHEDULED.value: "已改期，待您确认",
    AppointmentStatus.DONE.value: "已结束",
    AppointmentStatus.NO_SHOW.value: "当事人未到",
}

DELEGATION_STATUS = {
    DelegationStatus.OFFERED.value: "待调解员确认",
    DelegationStatus.DECLINED.value: "调解员已拒绝，待改派",
    DelegationStatus.ACCEPTED.value: "调解中",
    DelegationStatus.SETTLED.value: "已达成协议",
    DelegationStatus.RETURNED.value: "调解不成，转立案",
}
