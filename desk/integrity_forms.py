"""Forms of the integrity pages: a GET period filter and the review (CSRF)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField
from wtforms.validators import DataRequired, Optional

from court.oversight.integrity import REVIEW_CATEGORIES


class PeriodForm(FlaskForm):
    """GET filter: it changes nothing, so no CSRF token."""

    class Meta:
        csrf = False

    start = DateField("开始日期", validators=[Optional()])
    end = DateField("结束日期", validators=[Optional()])


class ReviewForm(FlaskForm):
    # A fixed choice only: the audit log keeps it forever, so no free text.
    category = SelectField("核查结论", choices=[("", "请选择")] + list(REVIEW_CATEGORIES.items()),
                           validators=[DataRequired("请选择核查结论。")])
