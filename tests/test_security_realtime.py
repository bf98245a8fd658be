"""Socket.IO is same-origin only: a cross-site page cannot open a socket with an agent's cookie."""
from __future__ import annotations

from tests.factories import PASSWORD

HANDSHAKE = "/socket.io/?EIO=4&transport=polling"


def _logged_in(app, agent):
    web = app.test_client()
    assert web.post("/login", data={"email": agent.email, "password": PASSWORD}).status_code == 302
    return web


def test_cross_origin_handshake_is_refused(app, agent):
    assert app.config.get("SOCKETIO_ALLOWED_ORIGINS") in (None, [])
    web = _logged_in(app, agent)
    for origin in ("http://evil.example", "null", "http://localhost.evil.example", "https://localhost"):
        response = web.get(HANDSHAKE, headers={"Origin": origin})
        assert response.status_code == 400, origin
        assert b"sid" not in response.data


def test_same_origin_handshake_is_accepted(app, agent):
    web = _logged_in(app, agent)
    response = web.get(HANDSHAKE, headers={"Origin": "http://localhost"})
    assert response.status_code == 200 and b'"sid"' in response.data


def test_anonymous_socketio_connect_packet_is_refused(app):
    """Past the engine.io handshake, the Socket.IO CONNECT is refused without a login."""
    web = app.test_client()
    opened = web.get(HANDSHAKE, headers={"Origin": "http://localhost"})
    sid = opened.get_data(as_text=True).split('"sid":"')[1].split('"')[0]
    web.post(f"{HANDSHAKE}&sid={sid}", data="40", headers={"Origin": "http://localhost"},
             content_type="text/plain;charset=UTF-8")
    reply = web.get(f"{HANDSHAKE}&sid={sid}", headers={"Origin": "http://localhost"}).get_data(as_text=True)
    assert reply.startswith("44") and "login required" in reply  # CONNECT_ERROR
