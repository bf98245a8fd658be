"""Forms of the LINE link panel: look a customer up (GET), then confirm the link (POST, CSRF)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, SubmitField
from wtforms.validators import AnyOf, DataRequired, Length


class LinkLookupForm(FlaskForm):
    """Member id or order number: only shows who would be linked, changes nothing."""

    class Meta:
        csrf = False

    member_id = StringField(_l("Member id"), validators=[Length(max=100)])
    order_number = StringField(_l("Order number"), validators=[Length(max=100)])
    submit = SubmitField(_l("Find customer"))


class LinkConfirmForm(FlaskForm):
    via = HiddenField(validators=[DataRequired(), AnyOf(("member_id", "order_number"))])
    key = HiddenField(validators=[DataRequired(), Length(max=100)])
    submit = SubmitField(_l("Link to this customer"))
