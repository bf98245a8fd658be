from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.calls.services import OUTCOMES

OUTCOME_LABELS = {
    "resolved": _l("Resolved"), "callback": _l("Callback promised"), "no_answer": _l("No answer"),
    "voicemail": _l("Voicemail"), "escalated": _l("Escalated"), "other": _l("Other"),
}


class CallForm(FlaskForm):
    number = StringField(_l("Phone number"), validators=[DataRequired(), Length(max=40)])
    direction = SelectField(_l("Direction"), choices=[("inbound", _l("Customer called us")),
                                                      ("outbound", _l("We called the customer"))])
    started_at = DateTimeLocalField(_l("When"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    duration_minutes = IntegerField(_l("Duration (minutes)"), default=0,
                                    validators=[Optional(), NumberRange(min=0, max=1440)])
    summary = TextAreaField(_l("Summary"), validators=[DataRequired(), Length(max=20000)])
    outcome = SelectField(_l("Outcome"), choices=[(o, OUTCOME_LABELS[o]) for o in OUTCOMES])
    follow_up_at = DateTimeLocalField(_l("Follow up by"), format="%Y-%m-%dT%H:%M",
                                      validators=[Optional()])
    customer_choice = SelectField(_l("Unknown number"), choices=[
        ("new", _l("Create a new customer")), ("attach", _l("Attach to customer #"))], default="new")
    attach_to_customer_id = IntegerField(_l("Customer #"), validators=[Optional()])
