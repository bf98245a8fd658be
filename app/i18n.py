"""Messages that are written in English where they arise and translated where an agent sees them.

`N_` marks a msgid for extraction (pybabel's `-k N_`) without translating it; `Refused` is the
base of the "this must not happen" errors that services raise: str() is English for logs and the
CLI, `translated()` is what a route shows the agent, in the request's language.
"""
from __future__ import annotations

from typing import Any

from flask_babel import gettext


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated when shown."""
    return message


class Refused(ValueError):
    """A change that must not happen, with a message marked by `N_` and its parameters."""

    def __init__(self, message: str, **params: Any):
        self.message, self.params = message, params
        super().__init__(message % params if params else message)

    def translated(self) -> str:
        return gettext(self.message, **self.params)
