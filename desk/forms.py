"""WTForms for the desk's POSTs; every form carries the CSRF token."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from court.guidance import card
from court.store.schema import DisputeType

REPLY_LIMIT = 2000


class ReplyForm(FlaskForm):
    text = TextAreaField("回复居民", validators=[DataRequired("回复内容不能为空。"),
                                             Length(min=1, max=REPLY_LIMIT, message=f"回复请控制在{REPLY_LIMIT}字以内。")])


class CloseForm(FlaskForm):
    note = TextAreaField("结束备注", validators=[DataRequired("请填写结束备注。"),
                                             Length(max=1000, message="备注请控制在1000字以内。")])


def dispute_choices() -> list[tuple[str, str]]:
    return [(t.value, card(t.value).label) for t in DisputeType]


class IntakeForm(FlaskForm):
    dispute_type = SelectField("纠纷类型", validators=[DataRequired("请选择纠纷类型。")])
    summary = TextAreaField("情况简述", validators=[DataRequired("请填写情况简述。"),
                                                Length(max=REPLY_LIMIT, message="简述请控制在2000字以内。")])
    phone = StringField("手机号码", validators=[DataRequired("请填写来电人的手机号码。"), Length(max=20)])
    name = StringField("姓名（可选）", validators=[Optional(), Length(max=40)])
    consent = BooleanField("来电人已同意收集以上信息用于安排调解",
                           validators=[DataRequired("需要来电人同意后才能登记。")])

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.dispute_type.choices = dispute_choices()
