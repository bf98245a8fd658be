"""The search form (GET: bookmarkable, no state change, so no CSRF token)."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional

from app.search.query import SORTS


class SearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form that changes nothing

    q = StringField(_l("Search"), validators=[Length(max=200)])
    type = SelectField(_l("Search in"), choices=[SelectChoice("messages", _l("Messages")),
                                                 SelectChoice("customers", _l("Customers"))],
                       default="messages")
    channel = SelectField(_l("Channel"), choices=[], default="", validate_choice=False)
    status = SelectField(_l("Status"), choices=[], default="", validate_choice=False)
    agent = SelectField(_l("Agent"), choices=[], default="", validate_choice=False)
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
    sort = SelectField(_l("Sort"), choices=[SelectChoice("relevance", _l("Best match")),
                                            SelectChoice("newest", _l("Newest first"))],
                       default=SORTS[0])
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=500)], default=1)
