"""Trying Tsunagu out: `make run PORT=…` serves and prints the real port, a first start says
nothing alarming (no red development-server banner, no "index unusable" on a fresh install), and
the demo really sends: replies by email and on X reach local stand-ins and show on /demo/mailbox."""
from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from app.cli import _quiet_dev_server_banner
from app.demo import data as demo_data
from app.demo import sinks
from app.extensions import db
from app.models import Agent, OutboxItem, Ticket
from app.outbox import deliver_due
from app.search.index import index_dir, open_or_create
from app.tickets.services import add_reply

ROOT = Path(__file__).resolve().parents[1]


def test_make_run_takes_a_port_and_prints_it():
    plan = subprocess.run(["make", "-n", "run", "PORT=8731"], cwd=ROOT, capture_output=True, text=True,
                          check=True, env=dict(os.environ, MAKEFLAGS="")).stdout
    assert "serve --demo --host 127.0.0.1 --port 8731" in plan
    assert "seed-demo --if-empty --url http://127.0.0.1:8731" in plan
    assert "PORT=" in (ROOT / "README.md").read_text()


def test_seeded_demo_names_the_real_address(runner):
    result = runner.invoke(args=["seed-demo", "--customers", "12", "--url", "http://127.0.0.1:8731"])
    assert result.exit_code == 0, result.output
    assert "Sign in at http://127.0.0.1:8731 " in result.output
    assert ":5000" not in result.output


def test_the_development_server_banner_is_not_shown():
    def record(message: str) -> logging.LogRecord:
        return logging.LogRecord("werkzeug", logging.INFO, __file__, 1, message, None, None)

    banner = "\x1b[31m\x1b[1mWARNING: This is a development server. Do not use it in a production deployment.\x1b[0m"
    assert not _quiet_dev_server_banner(record(banner))
    assert _quiet_dev_server_banner(record(" * Running on http://127.0.0.1:8731"))
    assert _quiet_dev_server_banner(record('127.0.0.1 - - "GET /login HTTP/1.1" 200 -'))


def test_a_fresh_search_index_is_created_calmly(app, caplog):
    caplog.set_level(logging.INFO)
    assert not os.path.exists(index_dir())
    _ix, created = open_or_create()
    assert created
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    assert "creating the search index" in caplog.text

    # A damaged index is still worth a warning.
    for name in os.listdir(index_dir()):
        if name.endswith(".toc"):
            Path(index_dir(), name).write_bytes(b"not a table of contents")
    caplog.clear()
    _ix, created = open_or_create()
    assert created
    assert "unusable" in caplog.text and any(r.levelno == logging.WARNING for r in caplog.records)


# --- a demo that sends: local SMTP server and X stand-in, shown on /demo/mailbox -----------------

@pytest.fixture
def demo_sinks(app):
    started = sinks.start(app)
    try:
        yield started
    finally:
        sinks.stop()


def test_demo_replies_leave_and_show_in_the_demo_mailbox(app, runner, client, demo_sinks):
    assert demo_sinks == ["email", "x"]
    result = runner.invoke(args=["seed-demo", "--customers", "12"])
    assert result.exit_code == 0, result.output
    agent = db.session.scalar(select(Agent).where(Agent.email == "agent@demo.example"))
    texts = {"email": "お問い合わせありがとうございます。次回のお届けを一回お休みにいたしました。",
             "x": "ご不便をおかけしております。詳細はDMにてお伺いします。"}
    replies = {}
    for channel, text in texts.items():
        ticket = db.session.scalar(select(Ticket).where(Ticket.channel == channel).order_by(Ticket.id.desc()))
        replies[channel] = add_reply(agent, ticket, text, confirmed=True).id
    deliver_due()

    for channel, message_id in replies.items():
        item = db.session.scalar(select(OutboxItem).where(OutboxItem.message_id == message_id))
        assert item.status == "sent", (channel, item.status, item.last_error)
    mail = next(d for d in sinks.received() if d.channel == "email" and texts["email"][:20] in d.body)
    post = next(d for d in sinks.received() if d.channel == "x" and d.body == texts["x"])
    assert "@" in mail.to and mail.subject.startswith("Re: ")
    assert post.to.startswith("in reply to ") and post.to != "in reply to "

    response = client.post("/login", data={"email": "agent@demo.example", "password": demo_data.PASSWORD})
    assert response.status_code == 302
    page = client.get("/demo/mailbox").get_data(as_text=True)
    assert texts["email"][:20] in page and texts["x"] in page
    assert 'href="/demo/mailbox"' in client.get("/").get_data(as_text=True)  # in the navigation


def test_the_demo_never_intercepts_a_configured_channel(app, client, agent, login_as):
    app.config.update(SMTP_HOST="smtp.example.jp", X_CONSUMER_KEY="k", X_CONSUMER_SECRET="s",
                      X_ACCESS_TOKEN="t", X_ACCESS_TOKEN_SECRET="u")
    try:
        assert sinks.start(app) == []
    finally:
        sinks.stop()
    assert app.config["SMTP_HOST"] == "smtp.example.jp" and app.config["X_CONSUMER_KEY"] == "k"
    login_as(agent)
    assert client.get("/demo/mailbox").status_code == 404  # not a demo: no mailbox page


def test_the_demo_has_sla_policies(runner):
    from sqlalchemy import func

    from app.models import SLAPolicy, TicketSLA

    result = runner.invoke(args=["seed-demo", "--customers", "12"])
    assert result.exit_code == 0, result.output
    policies = db.session.scalars(select(SLAPolicy)).all()
    assert {p.channel for p in policies} >= {"x", "phone", None}
    with_sla = db.session.scalar(select(func.count(TicketSLA.ticket_id)).where(TicketSLA.policy_id.is_not(None)))
    assert with_sla >= db.session.scalar(select(func.count(Ticket.id))) // 2
