"""Marshmallow field types shared by every JSON input (API, signed hooks)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from marshmallow import ValidationError, fields


class Text(fields.String):
    """A string the database can store: valid Unicode (no lone surrogates from undecodable
    bytes) and no NUL; the 422 then names the field."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise ValidationError("contains invalid characters (not valid UTF-8)") from None
        if "\x00" in text:
            raise ValidationError("contains a NUL character")
        return text


class Whole(fields.Integer):
    """An integer (yen, counts): 3980 or 3980.0, never 0.5 silently cut to 0, nor inf/NaN."""

    def _validated(self, value):
        if isinstance(value, float) and not value.is_integer():
            raise ValidationError("must be a whole number")
        return super()._validated(value)


#: Timestamps before this are typing errors; they also keep arithmetic and time-zone conversion
#: far from datetime.min (0001-01-01 minus an offset is an OverflowError).
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)


class Moment(fields.AwareDateTime):
    """An aware ISO 8601 datetime that Python and the database can hold, returned in UTC.

    Refused (422, naming the field): offsets that push it outside year 1-9999, anything before
    1970, and anything later than `max_future` from now (clock skew allowance; a sender's
    "created_at" a month ahead would sort first in every list until then).
    """

    def __init__(self, *, max_future: timedelta = timedelta(days=1), **kwargs):
        kwargs.setdefault("format", "iso")
        super().__init__(**kwargs)
        self.max_future = max_future

    def _deserialize(self, value, attr, data, **kwargs):
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment = moment.astimezone(timezone.utc)
        except (OverflowError, ValueError):
            raise ValidationError("is outside the supported range of dates") from None
        if moment < EARLIEST:
            raise ValidationError("must not be before 1970-01-01") from None
        if moment > datetime.now(timezone.utc) + self.max_future:
            raise ValidationError("is too far in the future") from None
        return moment


class Day(fields.Date):
    """A calendar date between 1970 and 2199 (shipping dates; keeps date arithmetic in range)."""

    def _deserialize(self, value, attr, data, **kwargs):
        day = super()._deserialize(value, attr, data, **kwargs)
        if not date(1970, 1, 1) <= day <= date(2199, 12, 31):
            raise ValidationError("must be between 1970-01-01 and 2199-12-31")
        return day
