"""Forms of the customer page."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SubmitField
from wtforms.validators import DataRequired, NumberRange


class MergeForm(FlaskForm):
    """Merge the customer shown into another one (the other keeps everything)."""

    target_id = IntegerField(_l("Merge this customer into customer #"),
                             validators=[DataRequired(), NumberRange(min=1)])
    submit = SubmitField(_l("Merge"))
