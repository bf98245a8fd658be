"""A live server for browser tests: the test's app (Flask + Socket.IO, threading mode) on a free
port in a daemon thread, sharing the test database (a SQLite file or the PostgreSQL test database).

Import the fixture into a test module: `from tests.live import live_server  # noqa: F401`.
"""
from __future__ import annotations

import socket
import threading

import pytest
from werkzeug.serving import make_server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def live_server(app):
    """Base URL of the running app; stopped after the test.

    Werkzeug's threaded server is what `socketio.run(app, allow_unsafe_werkzeug=True)` starts in
    threading mode (WebSocket upgrades included); building it directly lets the test shut it down.
    """
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="live-server")
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(10)
