"""Delivery errors in the agent's language.

The outbox keeps what the server or the code said (`OutboxItem.last_error`, English, often a
server's raw answer) because that is what an administrator needs. An agent needs to know what
happened and what to do: `explain(detail)` reads the raw text and returns one translated sentence;
the page shows it with the raw answer on a detail line below.
"""
from __future__ import annotations

import re
from typing import Callable, Optional

from flask_babel import gettext as _

#: (pattern in the raw detail, the sentence for the agent); the first match wins.
_EMAIL: tuple[tuple[re.Pattern, Callable[[], str]], ...] = (
    (re.compile(r"SMTP_HOST is not configured", re.I),
     lambda: _("Outgoing mail is not set up on this server (no SMTP server configured).")),
    (re.compile(r"SMTP login failed", re.I),
     lambda: _("The mail server refused our sign-in: an administrator should check the SMTP account.")),
    (re.compile(r"SMTP connection failed|SMTPServerDisconnected|Connection refused|timed out", re.I),
     lambda: _("The mail server could not be reached; it will be tried again.")),
    (re.compile(r"not an email address", re.I),
     lambda: _("The customer's email address is not valid: correct it on the customer page.")),
    (re.compile(r"header injection", re.I),
     lambda: _("Refused: the subject or an address contains a line break.")),
    (re.compile(r"\b55\d\b|recipient|user unknown|mailbox unavailable", re.I),
     lambda: _("The customer's mail server refused the message (address unknown or mailbox unavailable).")),
    (re.compile(r"\b45\d\b|try again later|greylist", re.I),
     lambda: _("The customer's mail server asked us to try later; it will be tried again.")),
    (re.compile(r"."), lambda: _("The mail server did not accept the message.")),
)
_X: tuple[tuple[re.Pattern, Callable[[], str]], ...] = (
    (re.compile(r"X user-context keys|X_CONSUMER_KEY|X_ACCESS_TOKEN", re.I),
     lambda: _("Replies on X are not set up on this server (no X account keys configured).")),
    (re.compile(r"in_reply_to_post_id", re.I),
     lambda: _("There is no X post to reply to.")),
    (re.compile(r"X API 429|Too Many Requests|rate limit", re.I),
     lambda: _("X's limit on posts was reached; it will be tried again when X allows.")),
    (re.compile(r"X API 40[13]|Unauthorized|Forbidden", re.I),
     lambda: _("X refused the reply (the account's permissions, or a duplicate or deleted post).")),
    (re.compile(r"X API unreachable|X API 5\d\d", re.I),
     lambda: _("X could not be reached; it will be tried again.")),
    (re.compile(r"no id", re.I),
     lambda: _("X accepted the post but did not confirm it: check the account before sending again.")),
    (re.compile(r"."), lambda: _("X did not accept the reply.")),
)


def explain(detail: Optional[str], channel: str = "email") -> str:
    """One sentence for the agent about a delivery error on `channel` ('' when there is none)."""
    if not detail:
        return ""
    for pattern, sentence in {"email": _EMAIL, "x": _X}.get(channel, ()):
        if pattern.search(detail):
            return sentence()
    return _("The message could not be delivered.")
