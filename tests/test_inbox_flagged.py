"""Cancellation requests rise above the inbox list."""
from __future__ import annotations

from app.extensions import db
from tests.factories import make_ticket


def test_open_cancellation_requests_are_pinned_on_top(app, client, agent, login_as):
    flagged, _ = make_ticket("定期便を解約したいです")
    flagged.intent, flagged.subject = "cancellation", "解約の件"
    solved, _ = make_ticket("解約しました")
    solved.intent, solved.status, solved.subject = "cancellation", "solved", "解約済みの件"
    db.session.commit()
    login_as(agent)
    html = client.get("/").get_data(as_text=True)
    pinned = html.split('class="flagged"')[1].split("</section>")[0]
    assert "解約の件" in pinned and "解約済みの件" not in pinned
    assert 'class="flagged"' not in client.get("/?page=2").get_data(as_text=True)
