"""Forms of the court calendar page (admins). Every POST form carries the CSRF token."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

DATE_HINT = "日期格式不对，请按“年-月-日”填写。"


class HolidayForm(FlaskForm):
    name = StringField("名称", validators=[DataRequired("请填写节日名称，例如“春节”。"),
                                         Length(max=40, message="名称请控制在40字以内。")])
    first = DateField("放假开始", validators=[InputRequired(DATE_HINT)])
    last = DateField("放假结束（含）", validators=[InputRequired(DATE_HINT)])


class AdjustedWorkdayForm(FlaskForm):
    day = DateField("调休上班日（周六或周日）", validators=[InputRequired(DATE_HINT)])
    name = StringField("名称（可选）", validators=[Optional(), Length(max=40, message="名称请控制在40字以内。")])


class ConfirmWeekdaysForm(FlaskForm):
    first = DateField("从", validators=[InputRequired(DATE_HINT)])
    last = DateField("到（含）", validators=[InputRequired(DATE_HINT)])


class RemoveDayForm(FlaskForm):
    day = HiddenField(validators=[DataRequired()])


class PublishForm(FlaskForm):
    source = StringField("依据（通知名称或文号）", validators=[DataRequired("请填写依据，例如国务院办公厅通知的名称。"),
                                                   Length(max=64, message="依据请控制在64字以内。")])
    confirm = BooleanField("我已核对：全年的放假和调休上班日期都已录入，与国务院办公厅的通知一致。",
                           validators=[DataRequired("请勾选确认。")])
