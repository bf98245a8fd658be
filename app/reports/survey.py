"""Satisfaction survey: one NPS question (0-10) + an optional comment, after a ticket is solved.

When a ticket becomes solved (bus "ticket.updated" with a status change), a survey email is
queued through the outbox as an outbound Message on channel "email" with meta {"kind": "survey"}
— only when the customer has an email identity, and once per ticket. Its links carry a token
signed with SECRET_KEY (itsdangerous, salt "tsunagu.survey") naming the survey; the score is in
the path. The links expire after SURVEY_LINK_MAX_AGE_DAYS (30). A score may be changed for
SURVEY_CHANGE_DAYS (7) after the first answer, then it is final. A detractor (0-6) opens a
follow-up ticket for a supervisor: high priority, unassigned, tag "detractor", internal note.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Optional

from flask import current_app, has_request_context, url_for
from flask_babel import force_locale, gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import bus, outbox
from app.extensions import db
from app.models import Customer, Message, SatisfactionResponse, Tag, Ticket, utcnow

log = logging.getLogger(__name__)
SALT = "tsunagu.survey"
DETRACTOR_TAG = "detractor"


class SurveyError(ValueError):
    """kind: invalid | expired | closed (answer no longer changeable) | missing."""

    def __init__(self, kind: str):
        super().__init__(kind)
        self.kind = kind


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_token(survey_id: int) -> str:
    return _serializer().dumps({"s": survey_id})


def _max_age() -> int:
    return int(current_app.config.get("SURVEY_LINK_MAX_AGE_DAYS", 30)) * 86400


def _change_window() -> timedelta:
    return timedelta(days=int(current_app.config.get("SURVEY_CHANGE_DAYS", 7)))


def load(token: str) -> SatisfactionResponse:
    """The survey a token names; SurveyError('invalid' | 'expired' | 'missing')."""
    try:
        data = _serializer().loads(token, max_age=_max_age())
    except SignatureExpired:
        raise SurveyError("expired") from None
    except BadSignature:
        raise SurveyError("invalid") from None
    survey = db.session.get(SatisfactionResponse, data.get("s")) if isinstance(data, dict) else None
    if survey is None:
        raise SurveyError("missing")
    return survey


def survey_url(token: str, score: Optional[int] = None) -> str:
    endpoint, args = ("survey.pick", {"token": token, "score": score}) if score is not None else (
        "survey.show", {"token": token})
    base = current_app.config.get("PUBLIC_BASE_URL")
    if base:
        return base.rstrip("/") + url_for(endpoint, **args) if has_request_context() else \
            base.rstrip("/") + _path_outside_request(endpoint, args)
    if has_request_context():
        return url_for(endpoint, _external=True, **args)
    with current_app.test_request_context():
        return url_for(endpoint, _external=True, **args)


def _path_outside_request(endpoint: str, args: dict) -> str:
    with current_app.test_request_context():
        return url_for(endpoint, **args)


def _body(ticket: Ticket, customer: Customer, token: str) -> tuple[str, str]:
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "ja")):
        subject = _("How did we do? (#%(id)s)", id=ticket.id)
        lines = [_("Dear %(name)s,", name=customer.display_name), "",
                 _("Thank you for contacting us about “%(subject)s”.", subject=ticket.subject), "",
                 _("How likely are you to recommend us to a friend? One click answers (0 = not at all, 10 = very likely):"),
                 ""]
        lines += [f"{n}: {survey_url(token, n)}" for n in range(11)]
        lines += ["", _("You can add a comment on the page that opens. The links are valid for %(days)s days.",
                        days=int(current_app.config.get("SURVEY_LINK_MAX_AGE_DAYS", 30)))]
    return subject, "\n".join(lines)


def send_survey(ticket_id: int) -> Optional[SatisfactionResponse]:
    """Queue the survey of a solved ticket (once; only to an email identity). Commits."""
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None or ticket.status != "solved" or DETRACTOR_TAG in {t.name for t in ticket.tags}:
        return None
    if db.session.scalar(select(SatisfactionResponse.id).where(SatisfactionResponse.ticket_id == ticket_id)):
        return None
    customer = ticket.customer
    identity = next((i for i in customer.identities if i.kind == "email" and not i.bouncing), None)
    if identity is None:
        return None
    survey = SatisfactionResponse(ticket_id=ticket.id, customer_id=customer.id, agent_id=ticket.assignee_id,
                                  sent_at=utcnow())
    try:
        with db.session.begin_nested():  # two solves at once: the unique ticket_id keeps one
            db.session.add(survey)
    except IntegrityError:
        return None
    subject, body = _body(ticket, customer, make_token(survey.id))
    now = utcnow()
    message = Message(ticket_id=ticket.id, customer_id=customer.id, channel="email", direction="out",
                      sender=current_app.config.get("MAIL_FROM", ""), subject=subject, body_text=body,
                      created_at=now, received_at=now, meta={"kind": "survey"})
    db.session.add(message)
    db.session.flush()
    survey.message_id = message.id
    outbox.enqueue(message)
    db.session.commit()
    return survey


@bus.subscribe("ticket.updated")
def _on_ticket_updated(ticket_id: int, changes=(), **_):
    if "status" in (changes or ()):
        try:
            send_survey(ticket_id)
        except Exception:
            db.session.rollback()  # never leave the publisher's session broken
            raise


def record_score(survey: SatisfactionResponse, score: int, now=None) -> SatisfactionResponse:
    """Record (or, within the change window, change) the score; idempotent. Commits."""
    if not 0 <= score <= 10:
        raise SurveyError("invalid")
    now = now or utcnow()
    if survey.answered_at is not None and survey.score != score:
        if now - survey.answered_at > _change_window():
            raise SurveyError("closed")
    if survey.score == score:
        return survey
    survey.answered_at = survey.answered_at or now
    if survey.score is not None:
        survey.changed_at = now
    survey.score = score
    db.session.commit()
    if score <= 6:
        open_detractor_followup(survey)
    bus.publish("survey.answered", survey_id=survey.id, ticket_id=survey.ticket_id, score=score)
    return survey


def save_comment(survey: SatisfactionResponse, comment: str, now=None) -> SatisfactionResponse:
    now = now or utcnow()
    if survey.answered_at is None:
        raise SurveyError("invalid")
    if now - survey.answered_at > _change_window():
        raise SurveyError("closed")
    survey.comment = (comment or "").strip()[:4000]
    survey.changed_at = now
    db.session.commit()
    if survey.followup_ticket_id and survey.comment:
        _note(survey.followup_ticket_id, survey, _("The customer added a comment: %(c)s", c=survey.comment))
        db.session.commit()
    return survey


def _note(ticket_id: int, survey: SatisfactionResponse, text: str) -> Message:
    ticket = db.session.get(Ticket, ticket_id)
    now = utcnow()
    note = Message(ticket_id=ticket.id, customer_id=ticket.customer_id, channel=ticket.channel,
                   direction="internal", sender="Tsunagu", body_text=text, created_at=now, received_at=now,
                   meta={"kind": "survey_followup", "survey_id": survey.id})
    db.session.add(note)
    ticket.last_activity_at = now
    return note


def open_detractor_followup(survey: SatisfactionResponse) -> Optional[Ticket]:
    """A high-priority, unassigned ticket tagged 'detractor' with an internal note (once)."""
    if survey.followup_ticket_id is not None:
        return None
    original = db.session.get(Ticket, survey.ticket_id)
    tag = db.session.scalar(select(Tag).where(Tag.name == DETRACTOR_TAG))
    if tag is None:
        tag = Tag(name=DETRACTOR_TAG)
        db.session.add(tag)
    now = utcnow()
    followup = Ticket(customer_id=survey.customer_id, status="new", priority="high", channel=original.channel,
                      subject=_("Detractor follow-up: #%(id)s (score %(score)s)", id=original.id, score=survey.score),
                      previous_ticket_id=original.id, created_at=now, last_activity_at=now, tags=[tag])
    db.session.add(followup)
    db.session.flush()
    survey.followup_ticket_id = followup.id
    _note(followup.id, survey, _("NPS score %(score)s on ticket #%(id)s. Comment: %(c)s",
                                 score=survey.score, id=original.id, c=survey.comment or "—"))
    db.session.commit()
    bus.publish("ticket.updated", ticket_id=followup.id, customer_id=followup.customer_id,
                actor_id=None, changes=["created"])
    return followup
