"""Forms of the admin pages (mediators and service points). Every POST form carries
the CSRF token; the filters are GETs that change nothing and carry none."""
from __future__ import annotations

import re

from flask import flash
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from court.admin import LEAVE_KINDS
from desk.forms import dispute_choices

REASON_LIMIT = 200
HOURS_HINT = "每行一个时间段，例如“1-5 08:30-11:30”（1到7表示周一到周日），时间在07:00到20:00之间。"
_CJK = re.compile(r"[\u4e00-\u9fff]")

# WTForms' built-in messages (a date it cannot parse, a choice not offered) are English.
FALLBACK = {
    "name": "请填写姓名。", "phone": "请填写手机号码。", "points": "请从列表中选择服务点。",
    "dispute_types": "请从列表中选择纠纷类型。", "hours": "请填写每周时间段。",
    "appointed_on": "选聘日期格式不对，请按“年-月-日”填写。", "retired_on": "退出日期格式不对，请按“年-月-日”填写。",
    "reason": "请填写原因。", "confirm": "请勾选确认。", "place": "请从列表中选择所在地。",
    "address": "请填写地址。", "lat": "纬度要是数字，例如 50.2450。", "lng": "经度要是数字，例如 127.5290。",
    "court": "请从列表中选择指导法院。", "slot_minutes": "每个时段的分钟数要在15到240之间。",
    "county": "请从列表中选择县区。", "status": "请从列表中选择状态。",
    "first": "日期格式不对，请按“年-月-日”填写。", "last": "日期格式不对，请按“年-月-日”填写。",
    "effective_on": "协议生效日期格式不对，请按“年-月-日”填写。", "filed_on": "申请日期格式不对，请按“年-月-日”填写。",
    "decided_on": "决定日期格式不对，请按“年-月-日”填写。",
    "day": "日期格式不对，请按“年-月-日”填写。", "source": "请填写依据。",
}


def flash_errors(form: FlaskForm) -> None:
    """Each field's first error, in Chinese."""
    for name, errors in form.errors.items():
        message = errors[0] if errors and isinstance(errors[0], str) and _CJK.search(errors[0]) else None
        flash(message or FALLBACK.get(name, "填写的内容有误，请检查后重试。"), "error")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _number(message: str):
    def check(_form, field) -> None:
        try:
            float(str(field.data or "").strip())
        except ValueError:
            raise ValidationError(message) from None
    return check


def _reason(label: str, required: str) -> TextAreaField:
    return TextAreaField(label, validators=[DataRequired(required), Length(
        max=REASON_LIMIT, message=f"{label}请控制在{REASON_LIMIT}字以内。")])


def _confirm(text: str) -> BooleanField:
    return BooleanField(text, validators=[DataRequired("请先勾选确认。")])


# --- filters (GET) ------------------------------------------------------------------

class MediatorFilterForm(FlaskForm):
    class Meta:
        csrf = False

    county = SelectField("县区")
    status = SelectField("状态", choices=[("", "全部"), ("active", "在任"), ("suspended", "已停用"),
                                        ("retired", "已退出")])


class PointFilterForm(FlaskForm):
    class Meta:
        csrf = False

    county = SelectField("县区")


# --- mediators -----------------------------------------------------------------------

class _Assignment(FlaskForm):
    points = SelectMultipleField("服务点（可多选，按住 Ctrl 键点选）", coerce=int,
                                 validators=[DataRequired("请至少选择一个服务点。")])
    dispute_types = MultiCheckboxField("擅长的纠纷类型", validators=[DataRequired("请至少选择一种擅长的纠纷类型。")])

    def __init__(self, *args, points: list[tuple[int, str]] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.points.choices = points or []
        self.dispute_types.choices = dispute_choices()


class AppointForm(_Assignment):
    name = StringField("姓名", validators=[DataRequired("请填写调解员姓名。"), Length(max=20, message="姓名请控制在20字以内。")])
    phone = StringField("手机号码", validators=[DataRequired("请填写调解员的手机号码。"), Length(max=20)])
    hours = TextAreaField("每周接待时间", validators=[DataRequired("请填写每周接待时间。"),
                                                Length(max=1000, message="时间段太多了，请精简。")])
    appointed_on = DateField("选聘日期", validators=[InputRequired("请填写选聘日期。")])


class AssignmentForm(_Assignment):
    pass


class HoursForm(FlaskForm):
    hours = TextAreaField("每周接待时间", validators=[DataRequired("请填写每周接待时间。"),
                                                Length(max=1000, message="时间段太多了，请精简。")])


class LeaveForm(FlaskForm):
    kind = SelectField("类型", choices=list(LEAVE_KINDS.items()))
    starts_on = DateField("开始日期", validators=[InputRequired("请填写开始日期。")])
    ends_on = DateField("结束日期", validators=[InputRequired("请填写结束日期。")])
    note = StringField("备注（可选）", validators=[Optional(), Length(max=200, message="备注请控制在200字以内。")])


class SuspendForm(FlaskForm):
    reason = _reason("停用原因", "请填写停用原因。")
    confirm = _confirm("我已确认：停用后这位调解员不再接收新预约，未来的预约将改派给同一服务点有空的调解员，"
                       "没有人接手的将通知居民另选时间。")


class RetireForm(FlaskForm):
    retired_on = DateField("退出日期", validators=[InputRequired("请填写退出日期。")])
    reason = _reason("退出原因", "请填写退出原因。")
    confirm = _confirm("我已确认：退出后不能恢复，绑定码作废，未来的预约将改派或通知居民另选时间。")


class ReinstateForm(FlaskForm):
    reason = _reason("恢复原因", "请填写恢复原因。")
    confirm = _confirm("我已确认：恢复后这位调解员将重新接收预约。")


class LinkCodeForm(FlaskForm):
    """Only the CSRF token: the code is made on the server and shown once."""


class UnlinkForm(FlaskForm):
    confirm = _confirm("我已确认：解除后这个 Telegram 账号不再收到任何推送，需要时重新发放绑定码。")


# --- service points --------------------------------------------------------------------

class _Location(FlaskForm):
    place = SelectField("所在县区、乡镇或街道", coerce=int, validators=[DataRequired("请选择所在地。")])
    address = StringField("地址", validators=[DataRequired("请填写地址。"), Length(max=200, message="地址请控制在200字以内。")])
    lat = StringField("纬度", validators=[DataRequired("请填写纬度。"), _number("纬度要是数字，例如 50.2450。")])
    lng = StringField("经度", validators=[DataRequired("请填写经度。"), _number("经度要是数字，例如 127.5290。")])

    def __init__(self, *args, places: list[tuple[int, str]] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.place.choices = places or []


class OpenPointForm(_Location):
    name = StringField("服务点名称", validators=[DataRequired("请填写服务点名称。"),
                                            Length(max=80, message="名称请控制在80字以内。")])
    court = SelectField("指导法院", coerce=int, validators=[Optional()])
    hours = TextAreaField("每周办公时间", validators=[DataRequired("请填写每周办公时间。"),
                                                Length(max=1000, message="时间段太多了，请精简。")])
    slot_minutes = IntegerField("每个预约时段（分钟）", default=60, validators=[
        DataRequired("请填写每个预约时段的分钟数。"), NumberRange(min=15, max=240, message="每个时段的分钟数要在15到240之间。")])

    def __init__(self, *args, courts: list[tuple[int, str]] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.court.choices = [(0, "按所在县区的基层法院")] + (courts or [])


class MovePointForm(_Location):
    pass


class ClosePointForm(FlaskForm):
    reason = _reason("撤销原因", "请填写撤销原因。")
    confirm = _confirm("我已确认：撤销后服务点不再接受预约，未来的预约将改到附近有空的服务点或通知居民另选时间。")
