"""The demo's outside world: a local SMTP server and a local X endpoint that accept what the
outbox sends and keep it for the demo mailbox page, so `make run` shows the whole loop
(reply → delivered → 送信済み) without a real mail server or X account.

Only `flask serve --demo` starts them (never production, never tests unless they ask): they
listen on 127.0.0.1 at free ports and point SMTP_* and X_* settings at themselves. What they
received lives in memory (`SENT`), newest first, at most 200 items.
"""
from __future__ import annotations

import json
import socket
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any, Optional

from flask import Flask

HOST = "127.0.0.1"


@dataclass
class Delivered:
    """One message a sink accepted."""

    channel: str  #: "email" or "x"
    to: str
    subject: str
    body: str
    at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


SENT: deque[Delivered] = deque(maxlen=200)
_lock = threading.Lock()
_running: dict[str, Any] = {}
_post_ids = count(1_900_000_000_000_000_000)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _keep(item: Delivered) -> None:
    with _lock:
        SENT.appendleft(item)


def received() -> list[Delivered]:
    with _lock:
        return list(SENT)


class _MailHandler:
    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001 (aiosmtpd's hook)
        mail = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        part = mail.get_body(preferencelist=("plain", "html"))
        _keep(Delivered("email", ", ".join(envelope.rcpt_tos), str(mail.get("Subject", "")),
                        part.get_content() if part is not None else ""))
        return "250 OK (kept by the Tsunagu demo, not sent anywhere)"


class _XHandler(BaseHTTPRequestHandler):
    """POST /2/tweets in X API v2's wire format; everything else is 404."""

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path.split("?")[0] != "/2/tweets":
            return self._answer(404, {"title": "Not Found", "detail": "the demo X endpoint only posts"})
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return self._answer(400, {"title": "Invalid Request", "detail": "body is not JSON"})
        text = str(body.get("text") or "")
        reply = (body.get("reply") or {}).get("in_reply_to_tweet_id") or ""
        post_id = str(next(_post_ids))
        _keep(Delivered("x", f"in reply to {reply}" if reply else "", "", text))
        self._answer(201, {"data": {"id": post_id, "text": text, "edit_history_tweet_ids": [post_id]}})

    def _answer(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:  # quiet: the demo mailbox page shows what came in
        pass


def start(app: Flask, smtp_port: Optional[int] = None, x_port: Optional[int] = None) -> list[str]:
    """Start the sinks for what is not configured (once per process) and point the app at them.

    A configured SMTP_HOST or X account keeps its real settings: the demo never intercepts a
    channel someone set up. Returns the channels now going to a sink ("email", "x")."""
    from aiosmtpd.controller import Controller

    from app.channels.x.client import has_user_keys

    started = []
    if not app.config.get("SMTP_HOST"):
        if "smtp" not in _running:
            controller = Controller(_MailHandler(), hostname=HOST, port=smtp_port or _free_port())
            controller.start()
            _running["smtp"] = controller
        app.config.update(SMTP_HOST=HOST, SMTP_PORT=_running["smtp"].port, SMTP_SECURITY="none",
                          SMTP_USER=None, SMTP_PASSWORD=None)
        started.append("email")
    if not has_user_keys(app.config):
        if "x" not in _running:
            server = ThreadingHTTPServer((HOST, x_port or _free_port()), _XHandler)
            threading.Thread(target=server.serve_forever, name="demo-x", daemon=True).start()
            _running["x"] = server
        app.config.update(X_API_BASE_URL=f"http://{HOST}:{_running['x'].server_address[1]}",
                          X_CONSUMER_KEY="demo", X_CONSUMER_SECRET="demo", X_ACCESS_TOKEN="demo",
                          X_ACCESS_TOKEN_SECRET="demo")
        started.append("x")
    app.config["DEMO_SINKS"] = bool(started)
    return started


def stop() -> None:
    """Stop the sinks (tests); what they received stays in SENT."""
    controller, server = _running.pop("smtp", None), _running.pop("x", None)
    if controller is not None:
        controller.stop()
    if server is not None:
        server.shutdown()
        server.server_close()
