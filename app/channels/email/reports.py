"""Auto-replies, bulk mail and delivery reports (bounces).

Such mail is stored and shown but never acknowledged (an acknowledgement to an auto-responder is
how mail loops start). A hard bounce (RFC 3464 DSN, Action: failed, Status: 5.x.x) names the
addresses the poller marks as bouncing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from app.channels.email.charsets import decode_header
from app.channels.email.headers import address_of, normalise_message_id

_BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply", "auto-reply"}
_DAEMONS = {"mailer-daemon", "postmaster"}


@dataclass(frozen=True)
class Report:
    auto_submitted: bool = False
    #: Why the message counts as automatic (a header name, 'dsn', 'mailer-daemon').
    reason: Optional[str] = None
    #: {'recipients': [{'address', 'action', 'status'}], 'hard': [addresses], 'original_message_id'}
    bounce: Optional[dict[str, Any]] = None


def _field(block, name: str) -> str:
    value = block.get(name)
    return decode_header(str(value)).strip() if value is not None else ""


def _recipient(value: str) -> Optional[str]:
    # "rfc822; user@example.jp" -> user@example.jp
    return address_of(value.split(";", 1)[-1].strip().strip("<>"))


def parse_dsn(blocks: list, original_headers: list) -> Optional[dict[str, Any]]:
    """Per-recipient results of a delivery-status report, or None if it names none."""
    recipients = []
    for block in blocks[1:] if len(blocks) > 1 else blocks:
        address = _recipient(_field(block, "final-recipient") or _field(block, "original-recipient"))
        if address is None:
            continue
        recipients.append({"address": address, "action": _field(block, "action").lower(),
                           "status": _field(block, "status")})
    if not recipients:
        return None
    original = None
    for headers in original_headers:
        value = headers.get("message-id")
        if value:
            original = normalise_message_id(str(value))
            break
    hard = [r["address"] for r in recipients if r["action"] == "failed" and r["status"].startswith("5")]
    return {"recipients": recipients, "hard": hard, "original_message_id": original}


def classify(headers: dict[str, str], *, content_type: str, sender: str, dsn_blocks: list,
             original_headers: list) -> Report:
    """Whether a message is automatic, and the bounce it reports. `headers` are raw, lower-cased."""
    bounce = parse_dsn(dsn_blocks, original_headers) if dsn_blocks else None
    reason = None
    auto = (headers.get("auto-submitted") or "").strip().lower()
    precedence = (headers.get("precedence") or "").strip().lower()
    if auto and auto.split(";", 1)[0].strip() != "no":
        reason = "auto-submitted"
    elif content_type == "multipart/report" or bounce is not None:
        reason = "dsn"
    elif "x-autoreply" in headers or "x-autorespond" in headers or "x-autoresponder" in headers:
        reason = "x-autoreply"
    elif precedence in _BULK_PRECEDENCE:
        reason = f"precedence:{precedence}"
    elif (headers.get("return-path") or "").strip() == "<>":
        reason = "null-return-path"
    elif sender.split("@", 1)[0] in _DAEMONS:
        reason = "mailer-daemon"
    return Report(auto_submitted=reason is not None, reason=reason, bounce=bounce)
