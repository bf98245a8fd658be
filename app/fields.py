"""Marshmallow field types shared by every JSON input (API, signed hooks)."""
from __future__ import annotations

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
