"""pytest plugin: a scriptable SMTP server per test (aiosmtpd, in a thread).

Owns: fixture ``smtp_server`` (function) -> :class:`SmtpServer`.

It accepts everything on 127.0.0.1:<free port> and records each message; tests
script temporary or permanent failures with ``fail_next`` to drive the outbox's
retry/backoff paths. AUTH (PLAIN/LOGIN, no TLS) is offered and accepts any
credentials unless ``set_auth`` pinned one pair, which also makes AUTH required.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pytest

from tests.servers import HOST, ServerError, free_port


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes  # the DATA payload exactly as sent (CRLF line ends)


@dataclass
class _Failure:
    stage: str  # "RCPT" or "DATA"
    remaining: int
    reply: str


class SmtpServer:
    def __init__(self):
        self.host = HOST
        self.port = free_port()
        self.messages: list[ReceivedMessage] = []
        self._failures: list[_Failure] = []
        self._auth: tuple[str, str] | None = None
        self._cond = threading.Condition()  # handlers run on the controller's thread
        self.controller = None

    # -- scripting ---------------------------------------------------------
    def fail_next(self, n: int = 1, code: int = 451, text: str = "try later", stage: str = "DATA") -> None:
        """Answer the next ``n`` commands of ``stage`` ("DATA" or "RCPT") with
        ``code text`` instead of accepting (4xx = retry later, 5xx = permanent)."""
        if stage not in ("DATA", "RCPT"):
            raise ValueError("stage must be 'DATA' or 'RCPT'")
        with self._cond:
            self._failures.append(_Failure(stage, n, f"{code} {text}"))

    def set_auth(self, user: str, password: str) -> None:
        """Require AUTH with exactly this pair for connections opened from now on."""
        self._auth = (user, password)
        self.controller.SMTP_kwargs["auth_required"] = True

    def reset(self) -> None:
        """Forget received messages, scripted failures and the AUTH requirement."""
        with self._cond:
            self.messages.clear()
            self._failures.clear()
        self._auth = None
        self.controller.SMTP_kwargs["auth_required"] = False

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMessage]:
        """Block until at least ``count`` messages arrived (for async senders)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} messages, got {len(self.messages)} in {timeout}s")
                self._cond.wait(left)
            return list(self.messages)

    # -- aiosmtpd handler hooks ------------------------------------------------
    def _take_failure(self, stage: str) -> str | None:
        with self._cond:
            for failure in self._failures:
                if failure.stage == stage and failure.remaining > 0:
                    failure.remaining -= 1
                    return failure.reply
        return None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self._take_failure("RCPT")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        reply = self._take_failure("DATA")
        if reply:
            return reply
        data = envelope.original_content or envelope.content
        with self._cond:
            self.messages.append(ReceivedMessage(envelope.mail_from, list(envelope.rcpt_tos), bytes(data)))
            self._cond.notify_all()
        return "250 Message accepted for delivery"

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        from aiosmtpd.smtp import AuthResult, LoginPassword

        if self._auth is None:
            return AuthResult(success=True)
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode(), auth_data.password.decode()) == self._auth
        return AuthResult(success=ok, handled=False)

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(
            self, hostname=self.host, port=self.port, ready_timeout=10,
            decode_data=False,  # keep bytes: tests compare raw MIME
            authenticator=self._authenticate, auth_require_tls=False, auth_required=False,
        )
        try:
            self.controller.start()
        except Exception as exc:
            raise ServerError(f"aiosmtpd could not start on {self.host}:{self.port}: {exc!r}") from exc

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop(no_assert=True)


def pytest_configure(config):
    # set_auth() deliberately asks for AUTH without TLS; aiosmtpd warns on each connection.
    config.addinivalue_line("filterwarnings", "ignore:Requiring AUTH while not requiring TLS:UserWarning")


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
