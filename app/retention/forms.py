"""Forms of the retention panel (every one POST with a CSRF token)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from app.models.retention import REASONS
from app.retention.actions import KINDS
from app.retention.cases import MANUAL_OUTCOMES


class ReasonForm(FlaskForm):
    reason = SelectField(_l("Reason"), choices=[SelectChoice(r, r) for r in REASONS], validators=[DataRequired()])


class OutcomeForm(FlaskForm):
    outcome = SelectField(_l("Outcome"), choices=[SelectChoice(o, o) for o in MANUAL_OUTCOMES], validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class PlainForm(FlaskForm):
    """A one-click button: only the CSRF token."""


class ActionForm(FlaskForm):
    """One action from the ladder; only the fields of its kind are used."""

    kind = HiddenField(validators=[DataRequired(), AnyOf(KINDS)])
    subscription_id = HiddenField()
    key = HiddenField(validators=[Optional(), Length(max=100)])
    #: The subscription's version the panel showed: a stale action is refused, not applied twice.
    version = HiddenField(validators=[Optional(), Length(max=20)])
    months = IntegerField(_l("Months"), validators=[Optional()])
    resume_on = StringField(_l("Resume on"), validators=[Optional(), Length(max=10)])
    cycle_days = IntegerField(_l("Cycle (days)"), validators=[Optional()])
    product_id = IntegerField(_l("Product"), validators=[Optional()])
    quantity = IntegerField(_l("Quantity"), validators=[Optional()])
    value = IntegerField(_l("Value (yen)"), validators=[Optional()])
    valid_days = IntegerField(_l("Valid for (days)"), validators=[Optional()])
    late_accepted = BooleanField(_l("The customer agrees to receive the delivery already past the deadline"))
    now_instead = BooleanField(_l("Effective now instead of the request time"))
    note = TextAreaField(_l("Why (for the record)"), validators=[Optional(), Length(max=2000)])

    def params(self) -> dict:
        names = {"pause": ("months", "resume_on"), "cycle": ("cycle_days",), "swap": ("product_id",),
                 "quantity": ("quantity",), "coupon": ("value", "valid_days"), "cancel": ("late_accepted",)}
        out = {name: getattr(self, name).data for name in names.get(self.kind.data, ())
               if getattr(self, name).data not in (None, "")}
        if self.kind.data == "cancel":
            out["from_request"] = not self.now_instead.data
        return out


class FlagForm(ReasonForm):
    #: When the request was received, in the shop's time (e.g. an unlogged phone call); empty =
    #: the ticket's first customer message.
    requested_at = StringField(_l("Request received at"), validators=[Optional(), Length(max=16)])
