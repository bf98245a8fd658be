"""Forms of the social pages (buttons that only carry the CSRF token)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SubmitField


class ListeningActionForm(FlaskForm):
    """Make a ticket / dismiss / restore: the route decides which."""

    submit = SubmitField(_l("OK"))
