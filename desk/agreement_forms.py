"""The desk's forms for agreements and judicial confirmation. Field checks here are
only shape and length; the court's rules (court/mediation/agreements.py) validate the content."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from court.mediation.agreements import ADDRESS_LIMIT, FACTS_LIMIT, PERFORMANCE_LIMIT, TERMS_LIMIT


def _long(limit: int, label: str) -> Length:
    return Length(max=limit, message=f"{label}请控制在{limit}字以内。")


class AgreementForm(FlaskForm):
    organisation = StringField("调解组织", validators=[_long(80, "调解组织名称")])
    p1_name = StringField("第1方当事人姓名", validators=[_long(40, "姓名")])
    p1_id_number = StringField("第1方当事人公民身份号码", validators=[_long(30, "身份证号码")])
    p1_address = StringField("第1方当事人住址", validators=[_long(ADDRESS_LIMIT, "住址")])
    p2_name = StringField("第2方当事人姓名", validators=[_long(40, "姓名")])
    p2_id_number = StringField("第2方当事人公民身份号码", validators=[_long(30, "身份证号码")])
    p2_address = StringField("第2方当事人住址", validators=[_long(ADDRESS_LIMIT, "住址")])
    facts = TextAreaField("纠纷主要事实、争议事项", validators=[_long(FACTS_LIMIT, "纠纷事实")])
    terms = TextAreaField("协议内容", validators=[_long(TERMS_LIMIT, "协议内容")])
    performance = TextAreaField("履行方式、时限", validators=[_long(PERFORMANCE_LIMIT, "履行方式和期限")])
    effective_on = DateField("协议生效日期", validators=[Optional()])
    intermediate = BooleanField("本纠纷依法应由中级人民法院管辖（向黑河市中级人民法院申请）")


class FileForm(FlaskForm):
    filed_on = DateField("提交申请日期", validators=[DataRequired("请填写向法院提交申请的日期。")])


class ResultForm(FlaskForm):
    result = SelectField("法院的决定", choices=[("confirmed", "裁定确认调解协议有效"), ("rejected", "裁定驳回申请")],
                         validators=[DataRequired("请选择法院的决定。")])
    decided_on = DateField("决定日期", validators=[DataRequired("请填写法院作出决定的日期。")])
    reason = TextAreaField("驳回理由（驳回时必填）", validators=[_long(500, "驳回理由")])
