"""Browser: a supervisor's requests page hears a new coupon request live and approves it."""
from __future__ import annotations

import socket
import threading

import pytest
from werkzeug.serving import make_server

from app.coupons import services
from app.extensions import db
from app.models import Coupon
from tests.coupon_helpers import coupon_input, ticket_for_new_customer
from tests.factories import PASSWORD


@pytest.fixture
def live_server(app):
    """The app (with Socket.IO, threading mode) served on a free port in a thread."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        thread.join(10)


def test_supervisor_sees_a_request_live_and_approves_it(app, live_server, new_context, agent, supervisor):
    page = new_context(locale="en-US").new_page()
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", supervisor.email)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    page.goto(f"{live_server}/coupons/requests")
    page.wait_for_selector("#coupon-live-status[data-live=on]")

    request = services.issue(agent, ticket_for_new_customer(), coupon_input(value=8000))
    assert request.status == "requested"
    card = page.wait_for_selector(f".coupon-request[data-coupon-id='{request.id}']")
    assert "8,000" in card.inner_text() and agent.name in card.inner_text()
    assert "over the yen limit" in card.inner_text()

    card.query_selector("textarea[name=note]").fill("常連様のため承認")
    card.query_selector("input[name=approve]").click()
    page.wait_for_selector(".flash-success")
    db.session.expire_all()
    coupon = db.session.get(Coupon, request.id)
    assert coupon.status == "issued" and coupon.decided_by_id == supervisor.id
    assert coupon.code in page.inner_text(".flashes")
