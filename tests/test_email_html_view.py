"""HTML mail is shown only inside a sandboxed iframe on the ticket page."""
from __future__ import annotations

from tests.factories import make_ticket


def test_html_email_is_sandboxed_on_the_ticket_page(app, client, agent, login_as):
    ticket, message = make_ticket("本文", channel="email", body_html="<p>整形済み<b>HTML</b></p>")
    login_as(agent)
    html = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert '<iframe sandbox=""' in html and "allow-scripts" not in html
    assert "<b>HTML</b>" not in html  # never inline in our own page
    frame = client.get(f"/messages/{message.id}/html")
    assert frame.status_code == 200 and "整形済み" in frame.get_data(as_text=True)
    assert "default-src 'none'" in frame.headers["Content-Security-Policy"]
