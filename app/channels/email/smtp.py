"""The SMTP side of the email channel: build the MIME message, send it, classify failures.

Headers: From MAIL_FROM, To the customer, our own Message-ID (the message's thread_key, or a
deterministic one derived from the message id so a retry reuses it), In-Reply-To/References from
the thread, the ticket token `[#id]` in the subject. UTF-8 by default; ISO-2022-JP (CP50220,
so ①㈱ survive) when SMTP_CHARSET or the message's meta 'mail_charset' asks for it, falling back
to UTF-8 for text JIS cannot hold (emoji). A 4xx or a dropped connection is a TemporaryFailure
(the outbox retries with backoff), a 5xx a PermanentFailure; CR/LF in any header value is refused
before anything is sent. A timeout or hang-up AFTER the whole message was transmitted is
OutcomeUnknown (permanent: "may have been sent — check before retrying"), never a blind resend.
"""
from __future__ import annotations

import base64
import hashlib
import smtplib
import socket
import ssl
from email import policy
from email.message import EmailMessage
from email.message import Message as Compat32Message
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any, Optional
from zoneinfo import ZoneInfo

from app.channels.base import DeliveryResult, OutboundMessage, PermanentFailure, TemporaryFailure
from app.channels.email.jis import encode_jis
from app.channels.email.headers import normalise_message_id
from app.ingest.threading import find_ticket_token, ticket_token
from app.models import utcnow

_SMTP_POLICY = policy.SMTP.clone(max_line_length=78)
_JIS_POLICY = policy.compat32.clone(linesep="\r\n", max_line_length=78)
#: Base64 of at most this many JIS bytes per encoded-word keeps each word under 75 characters.
_JIS_WORD_BYTES = 39


def _check_header(name: str, value: Optional[str]) -> str:
    value = value or ""
    if "\r" in value or "\n" in value or "\x00" in value:
        raise PermanentFailure(f"refused: line break in the {name} header (header injection)")
    return value


def subject_with_token(subject: str, ticket_id: int) -> str:
    subject = (subject or "").strip()
    if find_ticket_token(subject) == ticket_id:
        return subject
    return f"{subject} {ticket_token(ticket_id)}".strip()


def own_message_id(outbound: OutboundMessage, config: dict[str, Any]) -> str:
    """The Message-ID for this message: its thread_key, else one stable across retries."""
    existing = normalise_message_id(outbound.thread_key)
    if existing:
        return existing
    domain = (config.get("MAIL_FROM") or "tsunagu.invalid").rsplit("@", 1)[-1]
    seed = f"{config.get('SECRET_KEY')}:{outbound.message_id}:{outbound.ticket_id}".encode()
    digest = hashlib.sha256(seed).hexdigest()[:16]
    return f"<tsunagu.{outbound.ticket_id}.{outbound.message_id}.{digest}@{domain}>"


def _jis_words(text: str) -> Optional[str]:
    """RFC 2047 B-words in ISO-2022-JP, each self-contained (starts and ends in ASCII)."""
    words, chunk = [], ""
    for char in text:
        candidate = encode_jis(chunk + char)
        if candidate is None:
            return None
        if len(candidate) > _JIS_WORD_BYTES and chunk:
            words.append(encode_jis(chunk))
            chunk = char
        else:
            chunk += char
    if chunk:
        words.append(encode_jis(chunk))
    return " ".join(f"=?ISO-2022-JP?B?{base64.b64encode(w).decode()}?=" for w in words)


def _jis_address(name: str, address: str) -> Optional[str]:
    if not name or name.isascii():
        return formataddr((name, address)) if name else address
    words = _jis_words(name)
    return f"{words} <{address}>" if words else None


def _build_jis(headers: dict[str, str], names: dict[str, tuple[str, str]], body: str) -> Optional[bytes]:
    """The message in ISO-2022-JP throughout (headers too), or None if the text does not fit JIS.

    Built as a compat32 Message with ready-made ASCII header values: EmailMessage would decode
    our encoded-words and re-encode them as UTF-8 (splitting them mid-word when folding)."""
    jis_body = encode_jis(body.replace("\n", "\r\n"))
    subject = _jis_words(headers["Subject"]) if not headers["Subject"].isascii() else headers["Subject"]
    addresses = {key: _jis_address(*pair) for key, pair in names.items()}
    if jis_body is None or subject is None or None in addresses.values() \
            or max(map(len, jis_body.split(b"\r\n"))) > 990:
        return None
    msg = Compat32Message()
    for key, value in {**headers, **addresses, "Subject": subject}.items():
        msg[key] = value
    msg["MIME-Version"] = "1.0"
    msg["Content-Type"] = 'text/plain; charset="ISO-2022-JP"'
    msg["Content-Transfer-Encoding"] = "7bit"
    msg.set_payload(jis_body.decode("ascii"))
    return msg.as_bytes(policy=_JIS_POLICY)


def _build_utf8(headers: dict[str, str], names: dict[str, tuple[str, str]], body: str) -> bytes:
    msg = EmailMessage(policy=_SMTP_POLICY)
    for key, value in headers.items():
        msg[key] = value
    for key, pair in names.items():
        msg[key] = formataddr(pair) if pair[0] else pair[1]
    msg.set_content(body, charset="utf-8", cte="base64" if not body.isascii() else "7bit")
    return msg.as_bytes(policy=_SMTP_POLICY)


#: Headers a message's meta may add (meta["extra_headers"]); anything else is ignored.
EXTRA_HEADERS = ("List-Unsubscribe", "List-Unsubscribe-Post")


def build_message(outbound: OutboundMessage, config: dict[str, Any]) -> tuple[bytes, str, str]:
    """(wire bytes, Message-ID, charset used) for `outbound`; raises PermanentFailure on bad input."""
    names = {"From": (_check_header("From", config.get("MAIL_FROM_NAME")),
                      _check_header("From", config.get("MAIL_FROM"))),
             "To": (_check_header("To", outbound.to_name), _check_header("To", outbound.to))}
    if not outbound.to or "@" not in outbound.to:
        raise PermanentFailure(f"not an email address: {outbound.to!r}")
    keys = [normalise_message_id(_check_header("References", k)) for k in outbound.reply_to_keys]
    keys = [k for k in dict.fromkeys(keys) if k][-20:]
    message_id = own_message_id(outbound, config)
    headers = {
        "Subject": _check_header("Subject", subject_with_token(outbound.subject, outbound.ticket_id)),
        "Date": format_datetime(utcnow().astimezone(ZoneInfo(config.get("TIMEZONE") or "Asia/Tokyo"))),
        "Message-ID": message_id,
    }
    if keys:
        headers["In-Reply-To"], headers["References"] = keys[-1], " ".join(keys)
    if outbound.meta.get("auto_submitted"):
        headers["Auto-Submitted"] = "auto-replied"  # RFC 3834: responders must not answer it
    for name in EXTRA_HEADERS:  # e.g. RFC 8058 one-click unsubscribe on follow-up mail
        value = (outbound.meta.get("extra_headers") or {}).get(name)
        if value:
            headers[name] = _check_header(name, value)
    body = outbound.body_text.replace("\r\n", "\n")
    wanted = (outbound.meta.get("mail_charset") or config.get("SMTP_CHARSET") or "utf-8").lower()
    if wanted in ("iso-2022-jp", "jis"):
        data = _build_jis(headers, names, body)
        if data is not None:
            return data, message_id, "iso-2022-jp"
    return _build_utf8(headers, names, body), message_id, "utf-8"


def _classify(code: int, text: Any) -> Exception:
    detail = f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}".strip()
    return PermanentFailure(detail) if 500 <= code < 600 else TemporaryFailure(detail)


class OutcomeUnknown(PermanentFailure):
    """The whole message went out but the server's answer never came back (timeout, hang-up):
    it may have been accepted, so the outbox must not resend it blindly (no double send)."""


class _Tracking:
    """Remembers whether the message content (ending in CRLF.CRLF) was handed to the socket."""

    content_sent = False

    def send(self, s):  # noqa: ANN001 - smtplib's signature
        super().send(s)  # type: ignore[misc]
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.content_sent = True


class _SMTP(_Tracking, smtplib.SMTP):
    pass


class _SMTP_SSL(_Tracking, smtplib.SMTP_SSL):
    pass


def _connect(config: dict[str, Any]) -> smtplib.SMTP:
    host, port = config.get("SMTP_HOST"), int(config.get("SMTP_PORT") or 25)
    security = (config.get("SMTP_SECURITY") or "starttls").lower()
    timeout = float(config.get("SMTP_TIMEOUT") or 60)
    context = ssl.create_default_context()
    if security == "ssl":
        smtp: smtplib.SMTP = _SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        smtp = _SMTP(host, port, timeout=timeout)
        if security == "starttls":
            smtp.starttls(context=context)
    if config.get("SMTP_USER"):
        smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
    return smtp


def send(outbound: OutboundMessage, config: dict[str, Any]) -> DeliveryResult:
    """Deliver over SMTP; DeliveryResult on acceptance, else Temporary/PermanentFailure."""
    if not config.get("SMTP_HOST"):
        raise TemporaryFailure("SMTP_HOST is not configured")
    data, message_id, charset = build_message(outbound, config)
    try:
        smtp = _connect(config)
    except smtplib.SMTPAuthenticationError as exc:
        # Our credentials, not this message: keep it queued until an admin fixes the settings.
        raise TemporaryFailure(f"SMTP login failed: {exc.smtp_code} {exc.smtp_error!r}") from exc
    except smtplib.SMTPResponseException as exc:
        raise _classify(exc.smtp_code, exc.smtp_error) from exc
    except (smtplib.SMTPException, OSError, socket.timeout) as exc:
        raise TemporaryFailure(f"SMTP connection failed: {type(exc).__name__}: {exc}") from exc
    try:
        refused = smtp.sendmail(config["MAIL_FROM"], [outbound.to], data)
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        raise _classify(code, text) from exc
    except smtplib.SMTPResponseException as exc:  # sender refused, data error
        raise _classify(exc.smtp_code, exc.smtp_error) from exc
    except (smtplib.SMTPException, OSError, socket.timeout) as exc:
        if getattr(smtp, "content_sent", False):
            raise OutcomeUnknown(f"may have been sent — check before retrying: the SMTP server did not answer "
                                 f"after the message was transmitted ({type(exc).__name__}: {exc})") from exc
        raise TemporaryFailure(f"SMTP failed: {type(exc).__name__}: {exc}") from exc
    finally:
        try:
            smtp.quit()
        except Exception:  # noqa: BLE001 - accepted is accepted; a rude hang-up changes nothing
            smtp.close()
    if refused:
        code, text = next(iter(refused.values()))
        raise _classify(code, text)
    return DeliveryResult(external_id=message_id,
                          meta={"message_id": message_id, "thread_key": message_id, "charset": charset})


def generate_message_id(config: dict[str, Any]) -> str:
    """A fresh Message-ID on our domain (for services creating outbound mail)."""
    return make_msgid(domain=(config.get("MAIL_FROM") or "tsunagu.invalid").rsplit("@", 1)[-1])
