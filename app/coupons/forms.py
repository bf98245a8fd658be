"""Coupon forms: issue from a ticket, decide on a request, edit the policy and the reasons.

Range rules (value > 0, percent <= 100, expiry in the future...) are checked by the service, so
that every refusal is recorded in the audit trail; the forms only parse types.
"""
from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, HiddenField, IntegerField, SelectField, StringField,
                     SubmitField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

KIND_LABELS = {"amount": _l("Yen off"), "percent": _l("Percent off")}


def _new_key() -> str:
    return secrets.token_urlsafe(24)


class IssueCouponForm(FlaskForm):
    kind = SelectField(_l("Type"), choices=list(KIND_LABELS.items()), default="amount")
    value = IntegerField(_l("Value"), validators=[InputRequired()])
    #: A date in the shop's time zone; the coupon is valid until the end of that day.
    expires_on = DateField(_l("Valid until"), validators=[InputRequired()])
    max_uses = IntegerField(_l("Uses"), default=1, validators=[InputRequired()],
                            description=_l("1 = single use"))
    reason = SelectField(_l("Reason"), choices=[], validate_choice=False,
                         validators=[DataRequired()])
    reason_text = TextAreaField(_l("Details"), validators=[Length(max=2000)])
    #: One per rendered form: a double click or a resubmission stores one coupon.
    idempotency_key = HiddenField(default=_new_key)
    submit = SubmitField(_l("Issue coupon"))


class DecisionForm(FlaskForm):
    note = TextAreaField(_l("Reason for the decision"), validators=[Length(max=2000)])
    approve = SubmitField(_l("Approve"))
    refuse = SubmitField(_l("Refuse"))


class PolicyForm(FlaskForm):
    max_amount_yen = IntegerField(_l("Largest yen coupon without approval"),
                                  validators=[InputRequired(), NumberRange(min=0)])
    max_percent = IntegerField(_l("Largest percent coupon without approval"),
                               validators=[InputRequired(), NumberRange(min=0, max=100)])
    monthly_budget_yen = IntegerField(_l("Monthly budget per agent (yen)"),
                                      validators=[InputRequired(), NumberRange(min=0)])
    customer_limit = IntegerField(_l("Coupons per customer"),
                                  validators=[InputRequired(), NumberRange(min=0)])
    customer_period_days = IntegerField(_l("...within this many days"),
                                        validators=[InputRequired(), NumberRange(min=1)])
    cancellation_may_exceed = BooleanField(_l("A customer with an open cancellation request may get more"))
    cancellation_extra = IntegerField(_l("How many more"),
                                      validators=[Optional(), NumberRange(min=0)], default=1)
    submit = SubmitField(_l("Save"))


class ReasonForm(FlaskForm):
    label = StringField(_l("New reason"), validators=[DataRequired(), Length(max=100)])
    submit = SubmitField(_l("Add"))


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token."""

    submit = SubmitField(_l("OK"))
