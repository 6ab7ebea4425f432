"""WTForms for the desk's POSTs; every form carries the CSRF token."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from court.reference.guidance import card
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
    send_sms = BooleanField("短信发送网页聊天链接给来电人", default=True)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.dispute_type.choices = dispute_choices()


# --- booking for a resident from a handoff -------------------------------------

class TimesForm(FlaskForm):
    """A GET search: it changes nothing, so it carries no CSRF token."""

    class Meta:
        csrf = False

    place = StringField("居民所在乡镇或县区", validators=[DataRequired("请填写居民所在的乡镇或县区。"),
                                                 Length(max=60, message="地名请控制在60字以内。")])
    dispute_type = SelectField("纠纷类型", validators=[DataRequired("请选择纠纷类型。")])
    after = DateField("最早日期（可选）", validators=[Optional()])
    appointment = IntegerField(validators=[Optional(), NumberRange(min=1)])  # set when moving one

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.dispute_type.choices = dispute_choices()


SLOT_REQUIRED = DataRequired("请选择一个时间。")


class BookForm(FlaskForm):
    slot = StringField(validators=[SLOT_REQUIRED, Length(max=40)])
    dispute_type = HiddenField(validators=[DataRequired("请选择纠纷类型。")])
    summary = TextAreaField("情况简述", validators=[DataRequired("请填写情况简述。"),
                                                Length(max=REPLY_LIMIT, message="简述请控制在2000字以内。")])
    phone = StringField("手机号码", validators=[DataRequired("请填写居民的手机号码。"), Length(max=20)])
    name = StringField("姓名（可选）", validators=[Optional(), Length(max=40)])
    consent = BooleanField("居民已在对话中同意提供以上信息用于安排调解")


class MoveForm(FlaskForm):
    slot = StringField(validators=[SLOT_REQUIRED, Length(max=40)])


class CancelForm(FlaskForm):
    reason = StringField("取消原因", validators=[DataRequired("请填写取消原因。"),
                                              Length(max=200, message="原因请控制在200字以内。")])


class ResolveForm(FlaskForm):
    note = TextAreaField("处理备注", validators=[DataRequired("请填写处理备注。"),
                                             Length(max=500, message="备注请控制在500字以内。")])


class FindMediatorForm(FlaskForm):
    q = StringField("案件编号、姓名或服务点", validators=[DataRequired("请输入案件编号、调解员姓名或服务点。"),
                                                     Length(max=40, message="搜索内容不能超过40个字。")])


# --- booking for a phone caller, keyed by their case --------------------------

class CallerTimesForm(FlaskForm):
    """A GET search: it changes nothing, so it carries no CSRF token."""

    class Meta:
        csrf = False

    place = StringField("来电人所在乡镇或县区", validators=[DataRequired("请填写来电人所在的乡镇或县区。"),
                                                   Length(max=60, message="地名请控制在60字以内。")])
    after = DateField("最早日期（可选）", validators=[Optional()])


class CallerBookForm(FlaskForm):
    slot = StringField(validators=[SLOT_REQUIRED, Length(max=40)])
    consent = BooleanField("来电人已在电话中听过时间和地点，同意这次预约",
                           validators=[DataRequired("请先征得来电人同意这次预约，再勾选。")])
    send_sms = BooleanField("短信告知来电人（附网页聊天链接，可查看预约）", default=True)


# --- 委派调解: a clerk delegates a dispute at the court ----------------------------

class DelegateForm(FlaskForm):
    applicant_name = StringField("申请人姓名", validators=[DataRequired("请填写申请人姓名。"), Length(max=40)])
    applicant_phone = StringField("申请人电话", validators=[DataRequired("请填写申请人电话。"), Length(max=20)])
    respondent_name = StringField("被申请人姓名", validators=[DataRequired("请填写被申请人姓名。"), Length(max=40)])
    respondent_phone = StringField("被申请人电话", validators=[DataRequired("请填写被申请人电话。"), Length(max=20)])
    dispute_type = SelectField("纠纷类型", validators=[DataRequired("请选择纠纷类型。")])
    summary = TextAreaField("纠纷简述", validators=[DataRequired("请填写纠纷简述。"),
                                                Length(max=500, message="简述请控制在500字以内。")])
    amount = StringField("标的额（元，可选）", validators=[Optional(), Length(max=20)])
    court_id = SelectField("委派法院", coerce=int, validators=[DataRequired("请选择委派法院。")])
    judge = StringField("委派法官", validators=[DataRequired("请填写委派法官。"), Length(max=40)])
    channel = SelectField("案件来源", validators=[DataRequired("请选择案件来源。")])
    place = StringField("当事人所在乡镇", validators=[DataRequired("请填写当事人所在的乡镇或街道。"),
                                                Length(max=60, message="地名请控制在60字以内。")])
    candidate = StringField(validators=[Optional(), Length(max=40)])  # "point:mediator", from the proposal
    consent = BooleanField("已告知当事人由调解组织先行调解，当事人同意，并同意法院为此保存其姓名和电话",
                           validators=[DataRequired("请先征得当事人同意，再勾选。")])

    def __init__(self, *args, **kwargs) -> None:
        from court.mediation.delegation import CHANNEL_LABELS

        super().__init__(*args, **kwargs)
        self.dispute_type.choices = dispute_choices()
        self.channel.choices = list(CHANNEL_LABELS.items())


class ExtendForm(FlaskForm):
    days = IntegerField("延长天数", validators=[DataRequired("请填写延长天数。"),
                                            NumberRange(min=1, max=30, message="延长天数为1到30天。")])
    reason = StringField("延期理由", validators=[DataRequired("请填写延期理由。"),
                                              Length(max=200, message="理由请控制在200字以内。")])


class ReassignForm(FlaskForm):
    candidate = StringField(validators=[DataRequired("请选择一位调解员。"), Length(max=40)])
