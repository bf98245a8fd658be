"""NPS survey: sent on solve through the outbox, signed one-click links, change window, detractors."""
from __future__ import annotations

import re
import time
from datetime import timedelta

from flask import render_template_string
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from app.extensions import db
from app.models import Message, OutboxItem, SatisfactionResponse, Ticket, utcnow
from app.reports import survey as service
from app.tickets.services import update_ticket
from tests.factories import make_ticket


def _solved_survey(agent):
    ticket, _ = make_ticket("商品が届きません", channel="email")
    update_ticket(agent, ticket, status="solved", assignee_id=agent.id)
    survey = db.session.scalar(select(SatisfactionResponse).where(SatisfactionResponse.ticket_id == ticket.id))
    return ticket, survey


def test_solving_queues_one_survey_email_through_the_outbox(app, agent):
    ticket, survey = _solved_survey(agent)
    assert survey is not None and survey.agent_id == agent.id and survey.score is None
    message = db.session.get(Message, survey.message_id)
    assert (message.channel, message.direction, message.meta) == ("email", "out", {"kind": "survey"})
    assert db.session.scalar(select(OutboxItem.status).where(OutboxItem.message_id == message.id)) == "queued"
    links = re.findall(r"https?://\S+/survey/\S+/(\d+)", message.body_text)
    assert links == [str(n) for n in range(11)]
    # reopening and solving again sends nothing more: one survey per ticket
    update_ticket(agent, ticket, status="open")
    update_ticket(agent, ticket, status="solved")
    assert db.session.scalar(select(db.func.count()).select_from(SatisfactionResponse)) == 1


def test_no_survey_without_an_email_identity(app, agent):
    ticket, _ = make_ticket("@shop 届かない", channel="api", kind="x", sender="12345")
    update_ticket(agent, ticket, status="solved")
    assert db.session.scalar(select(SatisfactionResponse)) is None


def test_one_click_records_idempotently_and_can_change_for_seven_days(client, agent):
    ticket, survey = _solved_survey(agent)
    token = service.make_token(survey.id)
    assert client.head(f"/survey/{token}/9").status_code == 200
    page = client.get(f"/survey/{token}/9")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "csrf_token" in html and f'/survey/{token}/9"' in html
    db.session.expire_all()
    assert db.session.get(SatisfactionResponse, survey.id).score is None  # neither HEAD nor GET records
    assert client.post(f"/survey/{token}/9").status_code == 200  # the one click on the page
    db.session.expire_all()
    first = db.session.get(SatisfactionResponse, survey.id)
    answered_at = first.answered_at
    assert first.score == 9 and answered_at is not None
    assert client.post(f"/survey/{token}/9").status_code == 200  # replayed: nothing changes
    db.session.expire_all()
    assert db.session.get(SatisfactionResponse, survey.id).answered_at == answered_at
    assert client.post(f"/survey/{token}/8").status_code == 200  # changed within the window
    assert client.post(f"/survey/{token}", data={"comment": "丁寧でした"}).status_code == 200
    db.session.expire_all()
    row = db.session.get(SatisfactionResponse, survey.id)
    assert (row.score, row.comment) == (8, "丁寧でした") and row.changed_at is not None
    row.answered_at = utcnow() - timedelta(days=8)
    db.session.commit()
    assert client.post(f"/survey/{token}/2").status_code == 409  # too late to change
    assert client.post(f"/survey/{token}/8").status_code == 200  # the same answer is still fine
    db.session.expire_all()
    assert db.session.get(SatisfactionResponse, survey.id).score == 8


def test_scanner_gets_of_every_link_record_nothing_and_open_no_followup(client, agent):
    ticket, survey = _solved_survey(agent)
    body = db.session.get(Message, survey.message_id).body_text
    links = re.findall(r"https?://\S+/survey/\S+/\d+", body)
    assert len(links) == 11
    for link in links:  # a mail scanner / link previewer fetches each link, in any order
        path = link.split("://", 1)[1].split("/", 1)[1]
        assert client.get("/" + path).status_code == 200
        assert client.head("/" + path).status_code == 200
    db.session.expire_all()
    row = db.session.get(SatisfactionResponse, survey.id)
    assert (row.score, row.answered_at, row.followup_ticket_id) == (None, None, None)
    assert db.session.scalar(select(func.count()).select_from(Ticket).where(
        Ticket.previous_ticket_id == ticket.id)) == 0


def test_recording_needs_the_page_csrf_token(app, agent):
    _ticket, survey = _solved_survey(agent)
    token = service.make_token(survey.id)
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    assert client.post(f"/survey/{token}/4").status_code == 400  # a forged cross-site post
    page = client.get(f"/survey/{token}/4").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(f"/survey/{token}/4", data={"csrf_token": csrf}).status_code == 200
    db.session.expire_all()
    assert db.session.get(SatisfactionResponse, survey.id).score == 4


def test_tampered_and_expired_links_are_refused(app, client, agent):
    _ticket, survey = _solved_survey(agent)
    token = service.make_token(survey.id)
    assert client.get(f"/survey/{token[:-2]}xx/5").status_code == 400
    assert client.post(f"/survey/{token[:-2]}xx/5").status_code == 400
    forged = URLSafeTimedSerializer("another-secret", salt=service.SALT).dumps({"s": survey.id})
    assert client.post(f"/survey/{forged}/5").status_code == 400

    class MonthOld(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - 31 * 86400

    old = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=service.SALT, signer=MonthOld).dumps({"s": survey.id})
    assert client.get(f"/survey/{old}/5").status_code == 410
    assert client.post(f"/survey/{old}/5").status_code == 410
    assert client.get(f"/survey/{old}").status_code == 410
    db.session.expire_all()
    assert db.session.get(SatisfactionResponse, survey.id).score is None


def test_a_detractor_opens_one_follow_up_ticket_for_a_supervisor(client, agent):
    ticket, survey = _solved_survey(agent)
    token = service.make_token(survey.id)
    assert client.get(f"/survey/{token}/3").status_code == 200
    assert db.session.scalar(select(Ticket).where(Ticket.previous_ticket_id == ticket.id)) is None
    assert client.post(f"/survey/{token}/3").status_code == 200
    client.post(f"/survey/{token}", data={"comment": "返信が遅い"})
    assert client.post(f"/survey/{token}/2").status_code == 200
    followups = list(db.session.scalars(select(Ticket).where(Ticket.previous_ticket_id == ticket.id)))
    assert len(followups) == 1
    follow = followups[0]
    assert (follow.priority, follow.assignee_id, follow.status) == ("high", None, "new")
    assert [t.name for t in follow.tags] == ["detractor"]
    notes = list(db.session.scalars(select(Message).where(Message.ticket_id == follow.id)))
    assert notes and all(n.direction == "internal" for n in notes)
    assert any("返信が遅い" in n.body_text for n in notes)
    # the follow-up is not itself surveyed when solved
    update_ticket(agent, follow, status="solved")
    assert db.session.scalar(select(SatisfactionResponse).where(SatisfactionResponse.ticket_id == follow.id)) is None


def test_scores_show_on_the_customer_sidebar_partial(app, agent):
    ticket, survey = _solved_survey(agent)
    service.record_score(survey, 10)
    with app.test_request_context():
        html = render_template_string('{% include "sla/_customer_nps.html" %}', customer=ticket.customer)
    assert "nps-promoter" in html and f"#{ticket.id}" in html
