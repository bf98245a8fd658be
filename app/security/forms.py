"""Forms of the security package."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField, SubmitField
from wtforms.validators import DataRequired


class ReauthForm(FlaskForm):
    password = PasswordField(_l("Password"), validators=[DataRequired()])
    next = HiddenField()
    submit = SubmitField(_l("Confirm"))
