"""Scale-out: two gunicorn web processes behind one Redis message queue and one PostgreSQL.

A Socket.IO client connected to process A must hear about a message that came in through
process B's API, and presence set on one process must be seen from the other.
"""
from __future__ import annotations

import os
import re
import sys
import threading

import pytest
import requests
import socketio as sio_client

from app import create_app
from app.auth.services import create_agent, create_token
from app.extensions import db
from config import DevelopmentConfig
from tests.servers import free_port, spawn, stop_process, wait_for_port

PASSWORD = "scale-out-password"
USER_AGENT = "tsunagu-scaleout-test"


@pytest.fixture
def two_web_processes(postgres_server, redis_server, tmp_path):
    url = postgres_server.create_database("tsunagu_scaleout")
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_server.url,
           "SECRET_KEY": "scale-out-secret", "TSUNAGU_ENV": "development",
           "INSTANCE_DIR": str(tmp_path / "instance")}
    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=url, INSTANCE_DIR=str(tmp_path / "i0"))
    with app.app_context():
        db.create_all()
        agent = create_agent("scale@tsunagu.test", PASSWORD, role="supervisor")
        token = create_token(agent)
        db.engine.dispose()
    gunicorn = os.path.join(os.path.dirname(sys.executable), "gunicorn")
    procs, ports = [], []
    for name in ("a", "b"):
        port = free_port()
        log = tmp_path / f"gunicorn-{name}.log"
        proc = spawn([gunicorn, "-w", "1", "--threads", "20", "-b", f"127.0.0.1:{port}", "wsgi:app"],
                     log, env=env, cwd=os.getcwd())
        wait_for_port(port, proc, 30, log, f"gunicorn {name}")
        procs.append(proc)
        ports.append(port)
    yield ports, token
    for proc in procs:
        stop_process(proc)


def login_cookie(port: int) -> str:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT  # strong session protection binds to it
    page = session.get(f"http://127.0.0.1:{port}/login", timeout=120)  # first request loads the app
    assert page.status_code == 200
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = session.post(f"http://127.0.0.1:{port}/login", allow_redirects=False, timeout=10,
                            data={"email": "scale@tsunagu.test", "password": PASSWORD, "csrf_token": csrf})
    assert response.status_code == 302, response.text[:300]
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


def test_event_caused_on_one_process_reaches_a_client_of_the_other(two_web_processes):
    (port_a, port_b), token = two_web_processes
    client = sio_client.Client()
    got = threading.Event()
    received = []

    @client.on("inbox.changed")
    def _changed(data):
        received.append(data)
        got.set()

    client.connect(f"http://127.0.0.1:{port_a}", headers={"Cookie": login_cookie(port_a), "User-Agent": USER_AGENT},
                   transports=["websocket"], wait_timeout=10)
    try:
        response = requests.post(
            f"http://127.0.0.1:{port_b}/api/v1/messages", timeout=120,
            headers={"Authorization": f"Bearer {token}"},
            json={"channel": "api", "external_id": "scale-1", "from": "scale@example.jp",
                  "subject": "二つのプロセス", "text": "届きますか"})
        assert response.status_code == 201, response.text
        assert got.wait(10), "no event crossed the Redis queue"
        assert received[0]["ticket_id"] == response.json()["ticket_id"]
    finally:
        client.disconnect()
