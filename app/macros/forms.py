"""Supervisor forms: a macro and a reply-check term."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

LANGUAGE_CHOICES = [SelectChoice("ja", _l("Japanese")), SelectChoice("en", _l("English"))]


class MacroForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    body = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=20000)],
                         description=_l("Variables: {customer_name} {product} {next_shipment_date} "
                                        "{ticket_number} {coupon_code} {agent_name}"))
    active = BooleanField(_l("Active"), default=True)
    submit = SubmitField(_l("Save"))


class TermForm(FlaskForm):
    term = StringField(_l("Wording"), validators=[DataRequired(), Length(max=100)])
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    note = StringField(_l("Why / what to write instead"), validators=[Length(max=500)])
    submit = SubmitField(_l("Add"))


class DeleteForm(FlaskForm):
    submit = SubmitField(_l("Delete"))
