"""Structured JSON logs with a request id (taken from X-Request-ID or generated, echoed back)."""
from __future__ import annotations

import json
import logging
import re
import time
import uuid

from flask import Flask, g, has_request_context, request

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname,
                 "logger": record.name, "message": record.getMessage()}
        if has_request_context():
            entry["request_id"] = getattr(g, "request_id", None)
            entry["path"] = request.path
        if record.exc_info:
            entry["exception"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def init_logging(app: Flask) -> None:
    def _request_id():
        g.request_started = (time.perf_counter(), time.thread_time())
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex

    # First of all before_request functions: the id is in every log line (CSRF, rate limits), and
    # Server-Timing counts their work.
    app.before_request_funcs.setdefault(None, []).insert(0, _request_id)

    @app.after_request
    def _echo_request_id(response):
        if getattr(g, "request_id", None):
            response.headers["X-Request-ID"] = g.request_id
        started = getattr(g, "request_started", None)
        if started:  # the browser's devtools (and bench/load_test.py) split queueing from work
            wall, cpu = time.perf_counter() - started[0], time.thread_time() - started[1]
            response.headers["Server-Timing"] = f"app;dur={wall * 1000:.1f}, cpu;dur={cpu * 1000:.1f}"
        return response

    if app.config.get("LOG_JSON"):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        root = logging.getLogger()
        root.handlers[:] = [handler]
        root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
