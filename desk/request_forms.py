"""Forms of 接诉即办 (support requests) and of training sessions; every POST carries the CSRF token.
The choices are checked again in court/ (court.hotline.support_requests, court.mediation.training), in Chinese."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, RadioField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange

from court.hotline.support_requests import DESCRIPTION_LIMIT, KIND_LABELS, RATING_LABELS, REPLY_LIMIT
from court.mediation.training import MAX_HOURS, TOPIC_LIMIT


class FileRequestForm(FlaskForm):
    kind = RadioField("诉求类型", choices=list(KIND_LABELS.items()), validators=[DataRequired("请选择诉求类型。")])
    description = TextAreaField("具体内容", validators=[
        DataRequired("请写明需要法院做什么。"),
        Length(max=DESCRIPTION_LIMIT, message=f"内容请控制在{DESCRIPTION_LIMIT}字以内。")])


class RateForm(FlaskForm):
    rating = RadioField("满意程度", choices=[(str(k), v) for k, v in RATING_LABELS.items()],
                        validators=[DataRequired("请选择满意程度。")])


class AssignForm(FlaskForm):
    assignee = SelectField("承办人", validate_choice=False, validators=[DataRequired("请选择承办的法官或书记员。")])


class AnswerForm(FlaskForm):
    reply = TextAreaField("答复", validators=[DataRequired("请填写答复内容。"),
                                            Length(max=REPLY_LIMIT, message=f"答复请控制在{REPLY_LIMIT}字以内。")])


class CloseRequestForm(FlaskForm):
    pass


class TrainingForm(FlaskForm):
    held_on = DateField("培训日期", validators=[DataRequired("请填写培训日期（年-月-日）。")])
    topic = StringField("培训主题", validators=[DataRequired("请填写培训主题。"),
                                            Length(max=TOPIC_LIMIT, message=f"主题请控制在{TOPIC_LIMIT}字以内。")])
    study_hours = DecimalField("学时（小时）", places=1, validators=[
        DataRequired("请填写学时。"),
        NumberRange(min=0.1, max=MAX_HOURS, message=f"学时要大于0、不超过{MAX_HOURS:g}小时。")])
    attendees = SelectMultipleField("参加的调解员", coerce=int, validate_choice=False,
                                    validators=[DataRequired("请勾选参加培训的调解员。")])
