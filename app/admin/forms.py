"""Forms of the admin area."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp

from app.models import ROLES


def _role_field():
    from app.templating import ROLE_LABELS

    return SelectField(_l("Role"), choices=[SelectChoice(r, ROLE_LABELS[r]) for r in ROLES], default="agent")


class UserForm(FlaskForm):
    """Edit a user; `team_id` choices are filled by the view (0 = no team)."""

    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    role = _role_field()
    team_id = SelectField(_l("Team"), coerce=int, default=0)
    submit = SubmitField(_l("Save"))


class NewUserForm(UserForm):
    """Create a user: invite by email (a set-password link) or set the first password here."""

    email = EmailField(_l("Email"), validators=[
        DataRequired(), Length(max=254), Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", message=_l("Enter an email address."))])
    mode = RadioField(_l("How they get a password"), default="invite", choices=[
        SelectChoice("invite", _l("Email them an invitation link")),
        SelectChoice("password", _l("Set a password now"))])
    password = PasswordField(_l("Password (at least 8 characters)"), validators=[Optional(), Length(min=8, max=200)])
    submit = SubmitField(_l("Create user"))


class TeamForm(FlaskForm):
    name = StringField(_l("Team name"), validators=[DataRequired(), Length(max=100)])
    submit = SubmitField(_l("Save"))


class SetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password (at least 8 characters)"),
                             validators=[DataRequired(), Length(min=8, max=200)])
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))])
    submit = SubmitField(_l("Set password"))
