"""Socket.IO: authenticated connections, authorised rooms, presence/typing, logout cuts sockets."""
from __future__ import annotations

import pytest

from app.extensions import db, socketio
from app.ingest import ingest
from app.models import Team
from tests.factories import PASSWORD, inbound, make_agent, make_ticket


def connect_as(app, agent):
    web = app.test_client()
    assert web.post("/login", data={"email": agent.email, "password": PASSWORD}).status_code == 302
    return socketio.test_client(app, flask_test_client=web), web


def events(sock, name):
    return [e["args"][0] for e in sock.get_received() if e["name"] == name]


def test_anonymous_connection_is_refused(app):
    sock = socketio.test_client(app, flask_test_client=app.test_client())
    assert not sock.is_connected()


def test_new_message_reaches_viewers_and_inbox(app, agent):
    ticket, message = make_ticket(sender="live@example.jp")
    sock, _ = connect_as(app, agent)
    assert sock.emit("ticket.join", {"ticket_id": ticket.id}, callback=True) == {"ok": True}
    sock.get_received()
    ingest(inbound("追加です", sender="live@example.jp", reply_to_keys=(), ticket_hint=ticket.id))
    received = sock.get_received()
    names = [e["name"] for e in received]
    assert "message.new" in names and "inbox.changed" in names
    # The inbox row travels with the event, so an open inbox updates it without refetching.
    change = next(e["args"][0] for e in received if e["name"] == "inbox.changed")
    row = change["row"]
    assert change["ticket_id"] == ticket.id and row["status"] == ticket.status
    assert row["subject"] == ticket.subject and row["channel"] == ticket.channel
    assert row["customer"] == ticket.customer.display_name and row["last_activity_at"]


def test_team_tickets_are_not_heard_by_other_teams(app):
    red, blue = Team(name="red"), Team(name="blue")
    db.session.add_all([red, blue])
    db.session.commit()
    outsider = make_agent("agent", team_id=blue.id)
    insider = make_agent("agent", team_id=red.id)
    ticket, _ = make_ticket(sender="team@example.jp")
    ticket.team_id = red.id
    db.session.commit()
    out_sock, _ = connect_as(app, outsider)
    in_sock, _ = connect_as(app, insider)
    assert out_sock.emit("ticket.join", {"ticket_id": ticket.id}, callback=True)["ok"] is False
    out_sock.get_received(), in_sock.get_received()
    ingest(inbound("チームの件", sender="team@example.jp", ticket_hint=ticket.id))
    assert events(in_sock, "inbox.changed") and not events(out_sock, "inbox.changed")


def test_presence_and_typing_between_two_agents(app, agent):
    other = make_agent("agent", name="佐藤 次郎")
    ticket, _ = make_ticket()
    a, _ = connect_as(app, agent)
    b, _ = connect_as(app, other)
    a.emit("ticket.join", {"ticket_id": ticket.id}, callback=True)
    b.emit("ticket.join", {"ticket_id": ticket.id}, callback=True)
    names = {v["name"] for v in events(a, "presence")[-1]["viewers"]}
    assert names == {agent.name, other.name}
    b.emit("ticket.typing", {"ticket_id": ticket.id, "typing": True}, callback=True)
    typing = [v for v in events(a, "presence")[-1]["viewers"] if v["typing"]]
    assert [v["name"] for v in typing] == [other.name]
    b.disconnect()
    assert [v["name"] for v in events(a, "presence")[-1]["viewers"]] == [agent.name]


def test_typing_without_joining_is_ignored(app, agent):
    ticket, _ = make_ticket()
    sock, _ = connect_as(app, agent)
    assert sock.emit("ticket.typing", {"ticket_id": ticket.id, "typing": True}, callback=True) == {"ok": False}


@pytest.mark.parametrize("payload", [None, {}, {"ticket_id": "x"}, {"ticket_id": 999999}, "junk"])
def test_malformed_join_is_refused(app, agent, payload):
    sock, _ = connect_as(app, agent)
    assert sock.emit("ticket.join", payload, callback=True)["ok"] is False


def test_logout_ends_the_session_everywhere(app, agent):
    ticket, _ = make_ticket()
    sock, web = connect_as(app, agent)
    other_tab = app.test_client()
    other_tab.post("/login", data={"email": agent.email, "password": PASSWORD})
    web.post("/logout")
    assert not sock.is_connected() or events(sock, "session.ended")
    # The other tab's copy of the session no longer works either.
    assert other_tab.get("/").status_code == 302
