"""Follow-up forms: a plan, a step, a task outcome."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, IntegerField, SelectChoice, SelectField, StringField, SubmitField,
                     TextAreaField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

TRIGGER_CHOICES = [
    SelectChoice("first_delivered", _l("First order delivered")),
    SelectChoice("second_order", _l("Second order placed")),
    SelectChoice("nth_delivery", _l("Subscription's Nth delivery")),
    SelectChoice("skip_or_pause", _l("A skip or pause")),
    SelectChoice("saved_cancellation", _l("A saved cancellation")),
]
KIND_CHOICES = [SelectChoice("email", _l("Send an email")), SelectChoice("call", _l("After-care call (task)")),
                SelectChoice("note", _l("Personal note (task)"))]
PURPOSE_CHOICES = [SelectChoice("transactional", _l("Transactional (thank-you, usage)")),
                   SelectChoice("advertising", _l("Advertising (needs consent)"))]
LANGUAGE_CHOICES = [SelectChoice("ja", _l("Japanese")), SelectChoice("en", _l("English"))]


class PlanForm(FlaskForm):
    name_ja = StringField(_l("Name (Japanese)"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("Name (English)"), validators=[Length(max=200)])
    trigger = SelectField(_l("Trigger"), choices=TRIGGER_CHOICES)
    trigger_n = IntegerField(_l("Delivery number (for Nth delivery)"), default=1,
                             validators=[Optional(), NumberRange(min=1, max=100)])
    active = BooleanField(_l("Active"), default=True)
    submit = SubmitField(_l("Save"))


class StepForm(FlaskForm):
    delay_days = IntegerField(_l("Business days after the trigger"), default=3,
                              validators=[NumberRange(min=0, max=365)])
    kind = SelectField(_l("Step"), choices=KIND_CHOICES)
    purpose = SelectField(_l("Purpose"), choices=PURPOSE_CHOICES)
    offer = BooleanField(_l("Contains an offer (only after the second purchase)"))
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    subject = StringField(_l("Subject"), validators=[Length(max=300)])
    body = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=20000)],
                         description=_l("Variables: {customer_name} {product} {next_shipment_date} {days_left}"))
    submit = SubmitField(_l("Save"))


class TaskOutcomeForm(FlaskForm):
    outcome = SelectField(_l("Outcome"), choices=[SelectChoice("done", _l("Done")),
                                                  SelectChoice("skipped", _l("Skipped"))])
    note = StringField(_l("Note (why, for a skip)"), validators=[Length(max=500)])
    submit = SubmitField(_l("Record"))


class DeleteForm(FlaskForm):
    submit = SubmitField(_l("Delete"))
