"""What each outbox push says. The court decides who is told what and when
(court/booking/pushes.py writes the rows); this module only words it for Telegram."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from bot.replies import Venue
from bot.settings import HOTLINE
from court.reference import guidance

# Button payloads of mediator pushes; kept on the server behind opaque tokens.
ACCEPT, DECLINE = "m:accept:", "m:decline:"
# 委派调解 (court/mediation/delegation_offers.py): the same two answers, on a delegated case.
DELEGATION_ACCEPT, DELEGATION_DECLINE = "d:accept:", "d:decline:"
REBOOK = "/book_mediation"


@dataclass
class Notice:
    text: str
    buttons: list[tuple[str, str]] = field(default_factory=list)
    venue: Optional[Venue] = None


def _dispute(payload: dict[str, Any]) -> str:
    try:
        return guidance.card(str(payload.get("dispute_type") or "other")).label
    except (KeyError, ValueError):
        return "其他纠纷"


def _where(p: dict[str, Any]) -> str:
    return f"{p.get('service_point', '')}（{p.get('address', '')}）"


def _venue(p: dict[str, Any]) -> Optional[Venue]:
    try:
        return Venue(float(p["lat"]), float(p["lng"]), str(p.get("service_point") or "调解工作服务点"),
                     str(p.get("address") or ""))
    except (KeyError, TypeError, ValueError):
        return None


def _case_lines(p: dict[str, Any]) -> str:
    return (f"案件编号：{p.get('reference', '')}\n纠纷类型：{_dispute(p)}\n"
            f"简述：{p.get('summary') or '（未填写）'}\n时间：{p.get('time', '')}\n地点：{_where(p)}")


def _ask_mediator(head: str, ask: str) -> Callable[[dict[str, Any]], Notice]:
    def render(p: dict[str, Any]) -> Notice:
        return Notice(text=f"【{head}】\n{_case_lines(p)}\n\n{ask}",
                      buttons=[("接受", f"{ACCEPT}{p['appointment_id']}"), ("拒绝", f"{DECLINE}{p['appointment_id']}")])
    return render


def _mediator_cancelled(p: dict[str, Any]) -> Notice:
    return Notice(text=f"【预约已取消】\n案件 {p.get('reference', '')}，原定{p.get('time', '')}在{p.get('service_point', '')}，"
                       "当事人已取消，无需接待。")


def _mediator_moved_away(p: dict[str, Any]) -> Notice:
    return Notice(text=f"【预约已转出】\n案件 {p.get('reference', '')}（原定{p.get('time', '')}）已改约到其他时间或调解员，"
                       "您无需接待。")


def _mediator_reminder(when: str) -> Callable[[dict[str, Any]], Notice]:
    def render(p: dict[str, Any]) -> Notice:
        return Notice(text=f"【{when}提醒】\n{_case_lines(p)}\n\n结束后请发送 /outcome {p.get('reference', '')} 登记调解结果。")
    return render


def _resident_accepted(p: dict[str, Any]) -> Notice:
    return Notice(
        text=(f"【调解员已确认】\n案件编号：{p.get('reference', '')}\n调解员{p.get('mediator', '')}会按时接待您。\n"
              f"时间：{p.get('time', '')}\n地点：{_where(p)}\n请带上身份证和相关材料。"),
        venue=_venue(p),
    )


def _resident_reassigned(p: dict[str, Any]) -> Notice:
    return Notice(
        text=(f"【调解员有变动】\n原调解员临时无法接待，已为您安排调解员{p.get('mediator', '')}，时间地点不变：\n"
              f"时间：{p.get('time', '')}\n地点：{_where(p)}\n案件编号：{p.get('reference', '')}"),
    )


def _resident_declined(p: dict[str, Any]) -> Notice:
    lines = [f"【预约需要重新安排】\n很抱歉，调解员无法在{p.get('time', '')}接待您（案件编号：{p.get('reference', '')}）。"]
    proposals = p.get("proposals") or []
    if proposals:
        lines.append("这些时间还有空：")
        lines += [f"· {x.get('time', '')} {x.get('service_point', '')}（调解员{x.get('mediator', '')}）" for x in proposals[:3]]
    lines.append(f"点“重新预约”选一个时间，或拨打{HOTLINE}请工作人员帮您安排。")
    return Notice(text="\n".join(lines), buttons=[("重新预约", REBOOK)])


def _resident_rescheduled(p: dict[str, Any]) -> Notice:
    return Notice(text=(f"【预约已改到新时间】\n案件编号：{p.get('reference', '')}\n时间：{p.get('time', '')}\n"
                        f"地点：{_where(p)}\n调解员：{p.get('mediator', '')}\n调解员确认后会再通知您。"),
                  venue=_venue(p))


def _resident_cancelled(p: dict[str, Any]) -> Notice:
    return Notice(text=(f"【预约已取消】\n案件编号：{p.get('reference', '')}，原定{p.get('time', '')}。"
                        "需要时可以随时重新预约。"), buttons=[("重新预约", REBOOK)])


def _resident_point_moved(p: dict[str, Any]) -> Notice:
    return Notice(text=(f"【调解地点有变动】\n您预约的调解（案件编号：{p.get('reference', '')}）时间不变，"
                        f"服务点已搬到新地址：\n时间：{p.get('time', '')}\n新地址：{_where(p)}\n"
                        f"原地址：{p.get('old_address', '')}\n请按新地址前往。去不了请回复“取消预约”或“改约”。"),
                  venue=_venue(p))


def _mediator_point_moved(p: dict[str, Any]) -> Notice:
    times = "、".join(p.get("times") or [])
    more = "等" if int(p.get("count") or 0) > len(p.get("times") or []) else ""
    return Notice(text=(f"【服务点迁址】\n{p.get('service_point', '')}已搬到新地址：{p.get('address', '')}\n"
                        f"原地址：{p.get('old_address', '')}\n您在这里的{p.get('count', 0)}个预约时间不变"
                        f"（{times}{more}），当事人已收到新地址。"),
                  venue=_venue(p))


def _resident_reminder(when: str) -> Callable[[dict[str, Any]], Notice]:
    def render(p: dict[str, Any]) -> Notice:
        return Notice(text=(f"【{when}提醒】您预约的调解：\n时间：{p.get('time', '')}\n地点：{_where(p)}\n"
                            f"调解员：{p.get('mediator', '')}\n案件编号：{p.get('reference', '')}\n"
                            "请带上身份证和相关材料。去不了请回复“取消预约”或“改约”。"),
                      venue=_venue(p))
    return render


def _resident_outcome(p: dict[str, Any]) -> Notice:
    text = f"【调解结果】案件编号：{p.get('reference', '')}\n结果：{p.get('result_label') or p.get('result', '')}"
    if p.get("hint"):
        text += f"\n{p['hint']}"
    return Notice(text=text)


def _agent_reply(p: dict[str, Any]) -> Notice:
    return Notice(text=f"【{HOTLINE}热线 {p.get('agent') or '工作人员'}】\n{p.get('text', '')}")


def _agent_booked(p: dict[str, Any]) -> Notice:
    return Notice(text=(f"【{HOTLINE}热线 {p.get('agent') or '工作人员'}】已为您预约调解：\n"
                        f"案件编号：{p.get('reference', '')}\n时间：{p.get('time', '')}\n地点：{_where(p)}\n"
                        f"调解员：{p.get('mediator', '')}\n\n调解员确认后会再通知您。"
                        "需要改时间或取消，可以对我说“查询预约”。"),
                  venue=_venue(p))


def _handoff_returned(p: dict[str, Any]) -> Notice:
    about = f"关于您的{p['dispute_label']}问题，" if p.get("dispute_label") else ""
    return Notice(text=(f"{HOTLINE}热线工作人员已结束人工服务，助手继续为您服务。{about}还有什么可以帮您？"
                        "可以说“预约调解”“查询预约”，需要时再说“转人工”。"))


def _handoff_closed(p: dict[str, Any]) -> Notice:
    return Notice(text=f"本次人工服务已结束，谢谢您的耐心。需要时随时找我，或拨打{HOTLINE}诉讼服务热线。")


def _handoff_overdue(p: dict[str, Any]) -> Notice:
    minutes = int(p.get("limit_minutes") or 120)
    limit = f"{minutes // 60}个工作小时" if minutes % 60 == 0 else f"{minutes}分钟（工作时间）"
    return Notice(text=(f"抱歉，热线工作人员超过{limit}还没能接手您的对话，让您久等了。"
                        "您的留言都保存着，工作人员有空会在这里回复您。\n"
                        f"您也可以不再等待：继续用助手，或直接预约调解；着急请拨打{HOTLINE}。"),
                  buttons=[("继续用助手", "/cancel_handoff"), ("预约调解", REBOOK), ("继续等待", "/keep_waiting")])


def _day(iso: object) -> str:
    text = str(iso or "")
    return f"{int(text[5:7])}月{int(text[8:10])}日" if len(text) == 10 else text


def _delegation_offer(p: dict[str, Any]) -> Notice:
    text = (f"【法院委派调解】\n案件编号：{p.get('reference', '')}\n纠纷类型：{_dispute(p)}\n"
            f"简述：{p.get('summary') or '（未填写）'}\n标的额（元）：{p.get('amount', '')}\n"
            f"委派：{p.get('court', '')} {p.get('judge', '')}法官\n服务点：{_where(p)}\n"
            f"期限：{_day(p.get('deadline'))}前办结\n\n请确认能否承办。接受后可看到双方当事人的联系方式。")
    return Notice(text=text, buttons=[("接受", f"{DELEGATION_ACCEPT}{p['delegation_id']}"),
                                      ("拒绝", f"{DELEGATION_DECLINE}{p['delegation_id']}")])


def _delegation_withdrawn(p: dict[str, Any]) -> Notice:
    return Notice(text=f"【委派案件已改派】\n案件 {p.get('reference', '')} 已由法院改派给其他调解员，您无需承办。")


def _delegation_deadline(p: dict[str, Any]) -> Notice:
    day, level = _day(p.get("deadline")), p.get("level")
    # Dates, not "N天": a count of days reads as a legal time limit to court/reference/legal.py.
    when = {"d7": f"将于{day}到期，请抓紧办理", "d1": f"明天（{day}）到期"}.get(str(level), f"已超过期限（{day}）")
    ref = p.get("reference", "")
    return Notice(text=(f"【委派期限提醒】\n委派案件 {ref} {when}。\n"
                        f"请尽快登记结果：/outcome {ref}；需要延期请联系法院工作人员。"))


def _delegation_extended(p: dict[str, Any]) -> Notice:
    return Notice(text=(f"【委派期限已延长】\n案件 {p.get('reference', '')} 的期限延长到{_day(p.get('deadline'))}。\n"
                        f"理由：{p.get('reason', '')}"))


def _delegation_party(p: dict[str, Any]) -> Notice:
    return Notice(text=(f"【法院委派调解】\n您（{p.get('role', '当事人')}）的纠纷已由法院委派调解，"
                        f"案件编号：{p.get('reference', '')}\n调解员：{p.get('mediator', '')}  "
                        f"电话：{p.get('mediator_phone', '')}\n地点：{_where(p)}\n调解员会联系您约定时间。"),
                  venue=_venue(p))


def _transcript_erased(_: dict[str, Any]) -> Notice:
    return Notice(text="【个人信息删除】您与助手的聊天记录已清除。")


RENDERERS: dict[tuple[str, str], Callable[[dict[str, Any]], Notice]] = {
    ("mediator", "appointment_new"): _ask_mediator("新的调解预约", "请确认能否接待。接受后可看到当事人的联系电话。"),
    ("mediator", "appointment_rescheduled"): _ask_mediator("预约已改期", "请重新确认能否接待。"),
    ("mediator", "appointment_cancelled"): _mediator_cancelled,
    ("mediator", "appointment_moved_away"): _mediator_moved_away,
    ("mediator", "reminder_day_before"): _mediator_reminder("明天调解"),
    ("mediator", "reminder_two_hours"): _mediator_reminder("两小时后调解"),
    ("resident", "appointment_accepted"): _resident_accepted,
    ("resident", "appointment_reassigned"): _resident_reassigned,
    ("resident", "appointment_declined"): _resident_declined,
    ("resident", "appointment_rescheduled"): _resident_rescheduled,
    ("resident", "appointment_cancelled"): _resident_cancelled,
    ("resident", "reminder_day_before"): _resident_reminder("明天调解"),
    ("resident", "reminder_two_hours"): _resident_reminder("两小时后调解"),
    ("resident", "outcome_recorded"): _resident_outcome,
    ("resident", "point_moved"): _resident_point_moved,
    ("mediator", "point_moved"): _mediator_point_moved,
    ("mediator", "delegation_offer"): _delegation_offer,
    ("mediator", "delegation_withdrawn"): _delegation_withdrawn,
    ("mediator", "delegation_deadline"): _delegation_deadline,
    ("mediator", "delegation_extended"): _delegation_extended,
    ("resident", "delegation_party"): _delegation_party,
    # A chat known only by its conversation (the hotline desk talking to a resident).
    ("chat", "agent_reply"): _agent_reply,
    ("chat", "agent_booked"): _agent_booked,
    ("chat", "handoff_returned"): _handoff_returned,
    ("chat", "handoff_closed"): _handoff_closed,
    ("chat", "handoff_overdue"): _handoff_overdue,
    ("chat", "transcript_erased"): _transcript_erased,
}


class UnknownTemplate(KeyError):
    pass


def render(recipient_type: str, template: str, payload: dict[str, Any]) -> Notice:
    try:
        renderer = RENDERERS[(recipient_type, template)]
    except KeyError as exc:
        raise UnknownTemplate(f"{recipient_type}/{template}") from exc
    return renderer(payload)
