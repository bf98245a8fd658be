"""Forms of the SLA pages (policies, opening hours, closed days)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from app.channels import registry
from app.models import PRIORITIES
from app.templating import CHANNEL_LABELS

WEEKDAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
            _l("Saturday"), _l("Sunday"))
_HOURS = Regexp(r"^\s*$|^\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}(\s*,\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2})*\s*$",
                message=_l("Write ranges like 09:00-12:00, 13:00-18:00"))


def _minutes():
    return IntegerField(validators=[Optional(), NumberRange(min=1, max=525600)])


class PolicyForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    position = IntegerField(_l("Order (lowest first)"), default=100, validators=[NumberRange(min=0, max=10000)])
    active = BooleanField(_l("Active"), default=True)
    priority = SelectField(_l("Priority"), choices=[SelectChoice("", _l("Any"))] + [SelectChoice(p, p) for p in PRIORITIES])
    #: A choice of the channels the registry knows (free text let "メール" match no ticket).
    channel = SelectField(_l("Channel"), choices=lambda: [SelectChoice("", _l("Any"))] + [
        SelectChoice(c, CHANNEL_LABELS.get(c, c)) for c in sorted(registry.names())])
    segment = SelectField(_l("Customer segment"), choices=[
        SelectChoice("", _l("Any")), SelectChoice("new", _l("New")),
        SelectChoice("second", _l("Second purchase")), SelectChoice("loyal", _l("Loyal"))])
    first_response_minutes = _minutes()
    next_response_minutes = _minutes()
    resolution_minutes = _minutes()
    business_hours = BooleanField(_l("Count business hours only"), default=True)
    pause_when_pending = BooleanField(_l("Pause while pending"), default=True)

    def data_dict(self) -> dict:
        return {name: getattr(self, name).data for name in (
            "name", "position", "active", "priority", "channel", "segment", "first_response_minutes",
            "next_response_minutes", "resolution_minutes", "business_hours", "pause_when_pending")}


class HoursForm(FlaskForm):
    day0 = StringField(WEEKDAYS[0], validators=[_HOURS])
    day1 = StringField(WEEKDAYS[1], validators=[_HOURS])
    day2 = StringField(WEEKDAYS[2], validators=[_HOURS])
    day3 = StringField(WEEKDAYS[3], validators=[_HOURS])
    day4 = StringField(WEEKDAYS[4], validators=[_HOURS])
    day5 = StringField(WEEKDAYS[5], validators=[_HOURS])
    day6 = StringField(WEEKDAYS[6], validators=[_HOURS])
    public_holidays = BooleanField(_l("Closed on Japanese public holidays"), default=True)

    def hours(self) -> dict[str, list[list[str]]]:
        out = {}
        for day in range(7):
            text = getattr(self, f"day{day}").data or ""
            ranges = [[p.strip() for p in part.split("-")] for part in text.split(",") if part.strip()]
            if ranges:
                out[str(day)] = [[f"{int(a.split(':')[0]):02d}:{a.split(':')[1]}",
                                  f"{int(b.split(':')[0]):02d}:{b.split(':')[1]}"] for a, b in ranges]
        return out


class ClosedDayForm(FlaskForm):
    label = StringField(_l("Label"), validators=[DataRequired(), Length(max=100)])
    start_date = DateField(_l("From"), validators=[DataRequired()])
    end_date = DateField(_l("To"), validators=[DataRequired()])
    yearly = BooleanField(_l("Every year"))
