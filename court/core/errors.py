"""Typed errors. Each carries a short Chinese message fit to show a resident."""
from __future__ import annotations

from typing import Any, Sequence


class CourtError(Exception):
    """Base class: ``message`` is Simplified Chinese for the resident."""

    code = "court_error"
    message = "处理出错了，请稍后再试，或拨打12368诉讼服务热线。"

    def __init__(self, message: str | None = None, **details: Any) -> None:
        if message is not None:
            self.message = message
        self.details = details
        super().__init__(self.message)


class ValidationError(CourtError):
    code = "invalid"
    message = "输入的内容不符合要求，请检查后重新输入。"


class InvalidPhone(ValidationError):
    code = "invalid_phone"
    message = "手机号码不正确，请输入11位中国大陆手机号，例如 139 4561 2378。"


class InvalidIdNumber(ValidationError):
    code = "invalid_id_number"
    message = "身份证号码不正确，请核对18位号码（最后一位可能是X）。"


class InvalidName(ValidationError):
    code = "invalid_name"
    message = "姓名格式不对，请输入2到20个字的真实姓名。"


class TextTooLong(ValidationError):
    code = "text_too_long"

    def __init__(self, limit: int, field: str = "内容") -> None:
        super().__init__(f"{field}太长了，请控制在{limit}个字以内。", limit=limit)


class EmptyText(ValidationError):
    code = "empty_text"
    message = "内容不能为空，请再说一下。"


class InvalidCoordinates(ValidationError):
    code = "invalid_coordinates"
    message = "位置信息无效，请重新发送位置，或直接输入乡镇、街道名称。"


class PlaceNotFound(CourtError):
    code = "place_not_found"
    message = "没有找到这个地方。请输入所在的乡镇、街道或社区名称，例如“西岗子镇”“北安市和平街道”。"


class OutsideHeihe(CourtError):
    code = "outside_heihe"
    message = "这个地方不在黑河市辖区内。本服务只受理黑河市范围内的纠纷，外地纠纷请联系当地法院或拨打12368。"


class PlaceAmbiguous(CourtError):
    code = "place_ambiguous"

    def __init__(self, candidates: Sequence[Any]) -> None:
        names = "、".join(getattr(c, "display_name", str(c)) for c in candidates)
        super().__init__(f"有几个地方都叫这个名字：{names}。请选一个。")
        self.candidates = list(candidates)


class PastTime(ValidationError):
    code = "past_time"
    message = "这个时间已经过去了，请选一个以后的时间。"


class OutsideOpeningHours(ValidationError):
    code = "outside_opening_hours"
    message = "这个时间服务点不办公。请选工作日的办公时间，或从推荐的时段中选一个。"


class NoFreeSlot(CourtError):
    code = "no_free_slot"
    message = "这段时间附近的服务点都约满了。可以换个日期，或拨打12368请工作人员帮您安排。"


class SlotTaken(CourtError):
    code = "slot_taken"
    message = "这个时段刚刚被别人约走了，请换一个时段。"


class MediatorUnavailable(CourtError):
    code = "mediator_unavailable"
    message = "这位调解员在这个时间不能接待，请换一个时段。"


class NotMediable(CourtError):
    """A criminal or administrative matter: people's mediation cannot take it, so it is never booked."""

    code = "not_mediable"
    message = "这件事不属于人民调解的范围，本服务无法为您预约调解。请拨打12368诉讼服务热线咨询。"


class AlreadyBooked(CourtError):
    """The same dispute was booked from this chat minutes ago: a repeated request, not a second booking."""

    code = "already_booked"
    message = "您已经预约过了。"


class ConsentRequired(CourtError):
    code = "consent_required"
    message = "需要您先同意个人信息收集说明，才能为您预约调解。"


class NotFound(CourtError):
    code = "not_found"
    message = "没有找到对应的记录，请核对案件编号和手机号。"


class LookupPaused(CourtError):
    code = "lookup_paused"
    message = "这个案件编号的查询错误次数太多，已暂停1小时。请稍后再试，或拨打12368诉讼服务热线。"


class PermissionDenied(CourtError):
    code = "permission_denied"
    message = "您没有权限进行这个操作。"


class InvalidTransition(CourtError):
    code = "invalid_transition"
    message = "当前状态下不能进行这个操作。"


class DateNotUnderstood(ValidationError):
    code = "date_not_understood"
    message = "没看懂这个时间。可以说“明天下午”“下周一上午”“12月3号上午十点”这样的说法。"


class ButtonInvalid(ValidationError):
    code = "button_invalid"
    message = "这个按钮已失效，请按最新消息里的按钮，或直接输入文字。"


class ButtonExpired(ValidationError):
    code = "button_expired"
    message = "这个按钮已过期，请按最新消息里的按钮，或直接输入文字。"


class ButtonUsed(ValidationError):
    code = "button_used"
    message = "这个选项已经处理过了。"


class LinkCodeInvalid(ValidationError):
    code = "link_code_invalid"
    message = "绑定码不正确或已失效。请向法院工作人员索取新的绑定码，然后发送：/link 绑定码"


class ResidentLeft(PermissionDenied):
    """The resident left the queue while an agent held the chat: the agent's page says so."""
    code = "resident_left"
    message = "居民已取消转人工，这个对话已结束。"


class HandoffUnavailable(ValidationError):
    code = "handoff_unavailable"
    message = "这个对话已被其他工作人员接手，或已结束。"


class IntakeLinkInvalid(ValidationError):
    code = "intake_link_invalid"
    message = "这个链接已失效，请重新联系12368热线。"
