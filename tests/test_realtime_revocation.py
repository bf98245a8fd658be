"""Revocation reaches open sockets (issue 20, items 2 and 3).

Single process (Flask-SocketIO test client): a ticket moved to another team, a reassigned ticket,
an agent moved to another team, a changed password and a deactivated agent each take away what
the open sockets hear. Two gunicorn processes sharing a real Redis and PostgreSQL: a logout on
one process cuts the agent's sockets on both, and a team change made by a third process (the
CLI's kind) reaches a socket held by a web process.
"""
from __future__ import annotations

import re
import threading

import requests
import socketio as sio_client

from app import create_app
from app.auth.services import create_agent, deactivate_agent, set_agent_team
from app.extensions import db, socketio
from app.ingest import ingest
from app.models import Agent, Team, Ticket
from app.tickets.services import set_team, update_ticket
from config import DevelopmentConfig
from tests.factories import PASSWORD, inbound, make_agent, make_ticket
from tests.test_scaleout import USER_AGENT, login_cookie, two_web_processes  # noqa: F401 (fixture)


def _sock(app, agent):
    web = app.test_client()
    assert web.post("/login", data={"email": agent.email, "password": PASSWORD}).status_code == 302
    sock = socketio.test_client(app, flask_test_client=web)
    assert sock.is_connected()
    return sock


def _about(sock, ticket_id):
    """Names of the events `sock` received that concern `ticket_id`."""
    return [e["name"] for e in sock.get_received()
            if isinstance(e["args"][0], dict) and e["args"][0].get("ticket_id") == ticket_id]


def _teams(*names):
    teams = [Team(name=n) for n in names]
    db.session.add_all(teams)
    db.session.commit()
    return teams


def test_ticket_moved_to_another_team_is_no_longer_heard_by_the_old_team(app):
    kitchen, billing = _teams("台所用品", "請求")
    watcher = make_agent("agent", name="高橋 真央", team_id=kitchen.id)
    newcomer = make_agent("agent", name="伊藤 蓮", team_id=billing.id)
    boss = make_agent("supervisor", name="小林 部長")
    ticket, _ = make_ticket("鍋の取っ手が外れました", sender="nabe@example.jp")
    ticket.team_id = kitchen.id
    db.session.commit()
    old, new = _sock(app, watcher), _sock(app, newcomer)
    assert old.emit("ticket.join", {"ticket_id": ticket.id}, callback=True) == {"ok": True}
    old.get_received(), new.get_received()

    assert set_team(boss, ticket, billing.id)
    assert "ticket.revoked" in _about(old, ticket.id)
    ingest(inbound("写真を送ります、ご確認ください", sender="nabe@example.jp", ticket_hint=ticket.id))
    assert _about(old, ticket.id) == []  # neither message.new nor inbox.changed with the subject
    assert "inbox.changed" in _about(new, ticket.id)
    assert old.emit("ticket.typing", {"ticket_id": ticket.id, "typing": True}, callback=True) == {"ok": False}
    assert old.emit("ticket.join", {"ticket_id": ticket.id}, callback=True)["ok"] is False


def test_watchers_who_may_still_see_the_ticket_keep_hearing_it(app):
    (garden,) = _teams("園芸")
    gardener = make_agent("agent", team_id=garden.id)
    boss = make_agent("supervisor")
    ticket, _ = make_ticket("苗が枯れていました", sender="nae@example.jp")
    chief, mate = _sock(app, boss), _sock(app, gardener)
    for sock in (chief, mate):
        assert sock.emit("ticket.join", {"ticket_id": ticket.id}, callback=True) == {"ok": True}
        sock.get_received()
    set_team(boss, ticket, garden.id)  # from no team to the gardener's team: nobody loses it
    ingest(inbound("交換をお願いします", sender="nae@example.jp", ticket_hint=ticket.id))
    for sock in (chief, mate):
        names = _about(sock, ticket.id)
        assert "message.new" in names and "ticket.revoked" not in names


def test_reassigned_ticket_leaves_the_former_assignee_of_another_team(app):
    shoes, bags = _teams("靴", "鞄")
    helper = make_agent("agent", name="渡辺 翔", team_id=bags.id)
    owner = make_agent("agent", name="中村 葵", team_id=shoes.id)
    boss = make_agent("supervisor")
    ticket, _ = make_ticket("サイズ交換の件", sender="kutsu@example.jp")
    ticket.team_id = shoes.id
    ticket.assignee_id = helper.id
    db.session.commit()
    sock = _sock(app, helper)
    assert sock.emit("ticket.join", {"ticket_id": ticket.id}, callback=True) == {"ok": True}
    sock.get_received()
    update_ticket(boss, ticket, assignee_id=owner.id)
    assert "ticket.revoked" in _about(sock, ticket.id)
    ingest(inbound("24.5cmでお願いします", sender="kutsu@example.jp", ticket_hint=ticket.id))
    assert _about(sock, ticket.id) == []


def test_agent_moved_out_of_a_team_stops_hearing_its_inbox_and_its_tickets(app):
    tea, coffee = _teams("紅茶", "珈琲")
    mover = make_agent("agent", name="山本 悠", team_id=tea.id)
    tea_ticket, _ = make_ticket("茶葉の賞味期限", sender="cha@example.jp")
    coffee_ticket, _ = make_ticket("豆の挽き方", sender="mame@example.jp")
    tea_ticket.team_id, coffee_ticket.team_id = tea.id, coffee.id
    db.session.commit()
    sock = _sock(app, mover)
    assert sock.emit("ticket.join", {"ticket_id": tea_ticket.id}, callback=True) == {"ok": True}
    sock.get_received()

    set_agent_team(mover, coffee.id)
    assert "ticket.revoked" in _about(sock, tea_ticket.id)
    ingest(inbound("開封後はどのくらい持ちますか", sender="cha@example.jp", ticket_hint=tea_ticket.id))
    assert _about(sock, tea_ticket.id) == []
    ingest(inbound("中挽きでお願いします", sender="mame@example.jp", ticket_hint=coffee_ticket.id))
    assert "inbox.changed" in _about(sock, coffee_ticket.id)  # joined the new team's room at once


def test_changed_password_and_deactivation_cut_open_sockets(app):
    first = make_agent("agent", email="kaede@tsunagu.test")
    second = make_agent("agent", email="minato@tsunagu.test")
    a, b = _sock(app, first), _sock(app, second)
    create_agent("kaede@tsunagu.test", PASSWORD, role="agent")  # same password: nothing ends
    assert a.is_connected()
    create_agent("kaede@tsunagu.test", "a-brand-new-passphrase", role="agent")
    assert not a.is_connected()
    deactivate_agent(second)
    assert not b.is_connected()
    assert not socketio.test_client(app, flask_test_client=app.test_client()).is_connected()


def _client(port, cookie, received, gone):
    client = sio_client.Client(reconnection=False)
    client.on("inbox.changed", lambda data: received.append((port, data)))
    client.on("disconnect", lambda *reason: gone.set())
    client.connect(f"http://127.0.0.1:{port}", headers={"Cookie": cookie, "User-Agent": USER_AGENT},
                   transports=["websocket"], wait_timeout=10)
    return client


def _post_message(port, token, external_id, subject):
    response = requests.post(f"http://127.0.0.1:{port}/api/v1/messages", timeout=120,
                             headers={"Authorization": f"Bearer {token}"},
                             json={"channel": "api", "external_id": external_id, "from": "tab@example.jp",
                                   "subject": subject, "text": "個人情報を含む本文"})
    assert response.status_code == 201, response.text
    return response.json()["ticket_id"]


def _warm(*ports):
    """The workers load the app on their first request: slow on a loaded machine."""
    for port in ports:
        assert requests.get(f"http://127.0.0.1:{port}/login", timeout=120).status_code == 200


def test_logout_on_one_process_cuts_the_sockets_held_by_both(two_web_processes):  # noqa: F811
    (port_a, port_b), token = two_web_processes
    _warm(port_a, port_b)
    cookie = login_cookie(port_a)
    received: list = []
    gone_a, gone_b = threading.Event(), threading.Event()
    on_a = _client(port_a, cookie, received, gone_a)
    on_b = _client(port_b, cookie, received, gone_b)
    try:
        _post_message(port_b, token, "tab-before", "ログアウト前の件名")
        deadline = threading.Event()
        for _ in range(100):
            if {p for p, _d in received} == {port_a, port_b}:
                break
            deadline.wait(0.1)
        assert {p for p, _d in received} == {port_a, port_b}, received

        # The other tab signs out, through process B.
        page = requests.get(f"http://127.0.0.1:{port_b}/", timeout=10,
                            headers={"Cookie": cookie, "User-Agent": USER_AGENT})
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        out = requests.post(f"http://127.0.0.1:{port_b}/logout", data={"csrf_token": csrf}, timeout=10,
                            headers={"Cookie": cookie, "User-Agent": USER_AGENT}, allow_redirects=False)
        assert out.status_code == 302
        assert gone_a.wait(10), "the socket on the other process stayed connected"
        assert gone_b.wait(10)

        received.clear()
        _post_message(port_a, token, "tab-after", "ログアウト後の件名")
        deadline.wait(1.5)  # time for a broadcast to arrive if it were going to
        assert received == []
        again = sio_client.Client(reconnection=False)
        try:
            again.connect(f"http://127.0.0.1:{port_a}", transports=["websocket"], wait_timeout=5,
                          headers={"Cookie": cookie, "User-Agent": USER_AGENT})
            refused = False
        except sio_client.exceptions.ConnectionError:
            refused = True
        finally:
            again.disconnect()
        assert refused, "the old session cookie still opens a socket"
    finally:
        on_a.disconnect()
        on_b.disconnect()


def _login(port, email):
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    page = session.get(f"http://127.0.0.1:{port}/login", timeout=60)
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    response = session.post(f"http://127.0.0.1:{port}/login", allow_redirects=False, timeout=60,
                            data={"email": email, "password": PASSWORD, "csrf_token": csrf})
    assert response.status_code == 302, response.text[:300]
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


def test_ticket_moved_by_another_process_leaves_the_room_on_the_web_process(  # noqa: F811
        two_web_processes, postgres_server, redis_server, tmp_path):
    """The move is made by a third process (a CLI job's kind) sharing the database and Redis."""
    (port_a, port_b), token = two_web_processes
    _warm(port_a, port_b)
    ticket_id = _post_message(port_b, token, "move-1", "レシピ本の落丁")
    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=postgres_server.url("tsunagu_scaleout"),
                     REDIS_URL=redis_server.url, INSTANCE_DIR=str(tmp_path / "mover"))
    heard: list = []
    revoked = threading.Event()
    client = sio_client.Client(reconnection=False)
    client.on("*", lambda event, data: heard.append((event, data)))
    client.on("ticket.revoked", lambda data: (heard.append(("ticket.revoked", data)), revoked.set()))
    with app.app_context():
        books, food = Team(name="書籍"), Team(name="食品")
        db.session.add_all([books, food])
        db.session.commit()
        create_agent("shiori@tsunagu.test", PASSWORD, team_id=books.id, name="松本 栞")
        ticket = db.session.get(Ticket, ticket_id)
        ticket.team_id = books.id
        db.session.commit()
        client.connect(f"http://127.0.0.1:{port_a}", transports=["websocket"], wait_timeout=10,
                       headers={"Cookie": _login(port_a, "shiori@tsunagu.test"), "User-Agent": USER_AGENT})
        try:
            assert client.call("ticket.join", {"ticket_id": ticket_id}, timeout=30) == {"ok": True}
            boss = db.session.scalar(db.select(Agent).where(Agent.email == "scale@tsunagu.test"))
            heard.clear()
            set_team(boss, ticket, food.id)
            assert revoked.wait(10), heard
            update_ticket(boss, ticket, priority="high")  # ticket.changed and inbox.changed follow
            threading.Event().wait(1.5)  # time for a broadcast to arrive if it were going to
            assert [name for name, data in heard if name != "ticket.revoked"
                    and isinstance(data, dict) and data.get("ticket_id") == ticket_id] == []
        finally:
            client.disconnect()
            db.engine.dispose()
