"""Playing planned conversations into the database.

Every customer message goes through the one ingest path, exactly as a real email, call note or
X mention would. What agents did is history: replies are stored with an outbox row already
'sent' (the worker must never deliver demo replies), notes are internal messages, and status,
assignment and subscription changes are events with who and when.
"""
from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

from flask import current_app
from sqlalchemy import select, update

from app import bus
from app.demo import data
from app.demo.plan import Conversation, Turn
from app.extensions import db
from app.ingest import InboundMessage, Sender, ingest
from app.models import Agent, Customer, Event, Message, OutboxItem, Subscription, Tag, Ticket, utcnow

_X_EPOCH_MS = 1288834974657


class Player:
    """Plays conversations one after another; holds the agents and tags it has looked up."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.agents = {a.email: a for a in db.session.scalars(select(Agent))}
        self.tags: dict[str, Tag] = {}
        self.mail_domain = current_app.config["MAIL_FROM"].split("@")[-1]

    # -- ids in each channel's own format --------------------------------------------------
    def _hex(self, n: int = 12) -> str:
        return f"{self.rng.getrandbits(4 * n):0{n}x}"

    def _post_id(self, moment: datetime) -> str:
        """An X snowflake id for a post made at `moment`."""
        ms = int(moment.timestamp() * 1000) - _X_EPOCH_MS
        return str((ms << 22) | self.rng.getrandbits(22))

    # -- one conversation --------------------------------------------------------------------
    def play(self, conv: Conversation) -> int:
        self.conv, self.ticket, self.keys, self.triaged, self.written = conv, None, [], False, []
        for turn in conv.turns:
            getattr(self, f"_{turn.step.kind}")(turn)
        self.ticket.updated_at = self.ticket.last_activity_at
        db.session.commit()
        self._publish()
        return self.ticket.id

    def _publish(self) -> None:
        """Tell the features (search, SLA clocks, live views) what the agents' history added, after
        commit, as the ticket services do. The change is named 'history', not 'status': a
        status change would send a satisfaction survey to a demo customer."""
        ticket = self.ticket
        for message in self.written:
            bus.publish("message.created", message_id=message.id, ticket_id=ticket.id,
                        customer_id=ticket.customer_id, channel=message.channel, direction=message.direction)
        bus.publish("ticket.updated", ticket_id=ticket.id, customer_id=ticket.customer_id,
                    actor_id=ticket.assignee_id, changes=["history"])

    def _ingest(self, turn: Turn, msg: InboundMessage) -> None:
        db.session.commit()  # what this conversation did so far, before ingest's own transaction
        started = utcnow()
        result = ingest(msg)
        # Events and timestamps the ingest path (and its subscribers) recorded "now" belong to
        # the message's own time in this history.
        db.session.execute(update(Event).where(Event.ticket_id == result.ticket_id, Event.created_at >= started)
                           .values(created_at=turn.at))
        message = db.session.get(Message, result.message_id)
        message.received_at = turn.at + timedelta(seconds=self.rng.randint(5, 90))
        self.ticket = db.session.get(Ticket, result.ticket_id)
        if result.customer_created:  # someone new wrote in: they became known then
            customer = db.session.get(Customer, result.customer_id)
            customer.created_at = customer.updated_at = turn.at
            for identity in customer.identities:
                identity.created_at = turn.at

    def _in(self, turn: Turn) -> None:
        p, channel = self.conv.person, self.conv.script.channel
        if channel == "email":
            msg_id = f"<{turn.at:%Y%m%d%H%M%S}.{self._hex()}@mail.example>"
            subject = turn.subject or f"Re: {self.ticket.subject}"
            self._ingest(turn, InboundMessage(
                channel="email", external_id=msg_id, thread_key=msg_id, reply_to_keys=tuple(reversed(self.keys)),
                sender=Sender("email", p.email, p.email_name, p.email), created_at=turn.at, subject=subject,
                body_text=turn.text, match_subject=True, raw=self._eml(turn, msg_id, subject),
                raw_content_type="message/rfc822"))
            self.keys.append(msg_id)
        else:
            post_id = self._post_id(turn.at)
            conversation_id = self.keys[0] if self.keys else post_id
            self._ingest(turn, InboundMessage(
                channel="x", external_id=post_id, thread_key=conversation_id,
                reply_to_keys=(conversation_id,) if self.keys else (),
                sender=Sender("x", p.x_id, p.x_name, f"@{p.x_handle}"), created_at=turn.at, body_text=turn.text,
                raw=self._post_json(turn, post_id, conversation_id), raw_content_type="application/json",
                meta={"author_handle": f"@{p.x_handle}", "conversation_id": conversation_id}))
            if not self.keys:
                self.keys.append(post_id)

    def _call(self, turn: Turn) -> None:
        p = self.conv.person
        duration = self.rng.randint(20, 50) if not turn.step.answered else self.rng.randint(90, 720)
        meta = {"direction": "inbound", "duration_seconds": duration}
        if not turn.step.answered:
            meta["voicemail"] = True
        self._ingest(turn, InboundMessage(
            channel="phone", external_id=f"call-{turn.at:%Y%m%d%H%M%S}-{self._hex(6)}",
            sender=Sender("phone", p.phone_display, p.name, p.phone_display), created_at=turn.at,
            body_text=turn.text, ticket_hint=self.ticket.id if self.ticket else None, meta=meta))
        if turn.step.answered:  # the agent who took the call owns the ticket and answered it
            self._take(turn, actor=turn.author)
            if self.ticket.status == "new":
                self._set_status(turn, "open")
            self.ticket.first_response_at = self.ticket.first_response_at or turn.at

    # -- what agents did ---------------------------------------------------------------------
    def _agent(self, email: str) -> Agent:
        return self.agents[email]

    def _agent_by_id(self, agent_id: int | None) -> Agent | None:
        return next((a for a in self.agents.values() if a.id == agent_id), None)

    def _triage(self, turn: Turn) -> None:
        """The first time an agent looks at the ticket, it gets its priority and tags."""
        if self.triaged:
            return
        self.triaged = True
        priority, names = self.conv.script.priority, list(self.conv.script.tags)
        if priority != self.ticket.priority:
            self._event(turn, "ticket.priority", {"field": "priority", "old": self.ticket.priority, "new": priority})
            self.ticket.priority = priority
        if names:
            self._event(turn, "ticket.tags", {"field": "tags", "old": [t.name for t in self.ticket.tags],
                                              "new": names})
        for name in names:
            tag = self.tags.get(name) or db.session.scalar(select(Tag).where(Tag.name == name))
            if tag is None:
                tag = Tag(name=name)
                db.session.add(tag)
            self.tags[name] = tag
            if tag not in self.ticket.tags:
                self.ticket.tags.append(tag)

    def _event(self, turn: Turn, kind: str, details: dict, actor: str | None = None) -> None:
        db.session.add(Event(customer_id=self.ticket.customer_id, ticket_id=self.ticket.id, kind=kind,
                             actor_id=self._agent(actor or turn.author).id, data=details, created_at=turn.at))
        self.ticket.last_activity_at = max(self.ticket.last_activity_at, turn.at)

    def _set_status(self, turn: Turn, new: str) -> None:
        old = self.ticket.status
        if old == new:
            return
        self._event(turn, "ticket.status", {"field": "status", "old": old, "new": new})
        self.ticket.status = new
        if new == "solved":
            self.ticket.solved_at = turn.at
            self._retention_outcome(turn, "saved", "conversation")
        elif new == "closed":
            self.ticket.closed_at = turn.at
            self.ticket.solved_at = self.ticket.solved_at or turn.at

    def _assign(self, turn: Turn) -> None:
        """An assignment step: taking a new ticket opens it."""
        self._take(turn)
        if self.ticket.status == "new":
            self._set_status(turn, "open")

    def _take(self, turn: Turn, actor: str | None = None) -> None:
        self._triage(turn)
        agent = self._agent(self.conv.agent)
        if self.ticket.assignee_id == agent.id:
            return
        old = self._agent_by_id(self.ticket.assignee_id)
        self._event(turn, "ticket.assigned", {"field": "assignee", "old": self.ticket.assignee_id, "new": agent.id,
                                              "old_name": old.name if old else None, "new_name": agent.name},
                    actor=actor or turn.author)
        self.ticket.assignee_id = agent.id
        db.session.flush()

    def _status(self, turn: Turn) -> None:
        if self.ticket.assignee_id is None:
            self._take(turn)  # whoever solves a ticket owns it
        self._set_status(turn, turn.step.then)

    def _act(self, turn: Turn) -> None:
        self._triage(turn)
        name, *args = turn.step.action
        sub = db.session.scalar(select(Subscription).where(Subscription.external_id == self.conv.sub.external_id))
        details = {"subscription_id": sub.id, **turn.details, "reason": args[0] if name == "cancel" else None}
        for snapshot in (details["before"], details["after"]):
            snapshot["product_id"] = sub.product_id
        self._event(turn, f"subscription.{name}", details)
        if name == "cancel":
            self._retention_outcome(turn, "cancelled")
        else:
            self._retention_outcome(turn, "saved", name, value=sub.price * round(365 / sub.cycle_days))

    def _retention_outcome(self, turn: Turn, outcome: str, saved_by: str | None = None, value: int = 0) -> None:
        """Close the retention case the intent detector opened (if any) the way the story ended."""
        from app.retention.cases import case_for, record_outcome

        db.session.flush()
        case = case_for(self.ticket.id)
        if case is None or case.outcome != "open":
            return
        record_outcome(case, outcome, self._agent(turn.author), saved_by=saved_by, value=value)
        case.outcome_at = turn.at
        for obj in db.session.new:  # the outcome event happened then, not now
            if isinstance(obj, Event) and obj.created_at is None:
                obj.created_at = turn.at

    def _note(self, turn: Turn) -> None:
        self._triage(turn)
        self._message(turn, "internal", None)

    def _out(self, turn: Turn) -> None:
        self._triage(turn)
        if self.ticket.assignee_id is None:
            self._take(turn)
        channel = self.conv.script.channel
        if channel == "email":
            key = f"<{self._hex(16)}@{self.mail_domain}>"
            message = self._message(turn, "out", key, thread_key=key, reply_to_keys=list(reversed(self.keys)),
                                    subject=f"Re: {self.ticket.subject}")
            self.keys.append(key)
            result = {"message_id": key}
        else:  # x (phone has no replies: callbacks are call notes)
            post_id = self._post_id(turn.at)
            message = self._message(turn, "out", post_id, thread_key=self.keys[0], reply_to_keys=[self.keys[0]],
                                    meta={"conversation_id": self.keys[0]})
            result = {"id": post_id, "url": f"https://x.com/{data.SHOP_X_HANDLE}/status/{post_id}"}
        db.session.add(OutboxItem(message=message, channel=channel, status="sent", attempts=1,
                                  next_attempt_at=turn.at, created_at=turn.at,
                                  sent_at=turn.at + timedelta(seconds=self.rng.randint(2, 40)), result=result))
        self.ticket.first_response_at = self.ticket.first_response_at or turn.at
        self.ticket.last_agent_message_at = turn.at
        self.ticket.last_activity_at = max(self.ticket.last_activity_at, turn.at)
        self._set_status(turn, turn.step.then)

    def _message(self, turn: Turn, direction: str, external_id: str | None, **fields) -> Message:
        author = self._agent(turn.author)
        message = Message(ticket_id=self.ticket.id, customer_id=self.ticket.customer_id,
                          channel=self.conv.script.channel, direction=direction, external_id=external_id,
                          author_id=author.id, sender=author.name, body_text=turn.text, created_at=turn.at,
                          received_at=turn.at, **fields)
        db.session.add(message)
        self.written.append(message)
        self.ticket.last_activity_at = max(self.ticket.last_activity_at, turn.at)
        return message

    # -- raw sources, as the channels would have stored them ------------------------------------
    def _eml(self, turn: Turn, msg_id: str, subject: str) -> bytes:
        p = self.conv.person
        mail = EmailMessage()
        mail["From"] = f"{p.email_name} <{p.email}>" if p.email_name else p.email
        mail["To"] = current_app.config["MAIL_FROM"]
        mail["Subject"] = subject
        mail["Date"] = format_datetime(turn.at)
        mail["Message-ID"] = msg_id
        if self.keys:
            mail["In-Reply-To"] = self.keys[-1]
            mail["References"] = " ".join(self.keys)
        mail.set_content(turn.text)
        return mail.as_bytes()

    def _post_json(self, turn: Turn, post_id: str, conversation_id: str) -> bytes:
        p = self.conv.person
        post = {"data": {"id": post_id, "text": turn.text, "author_id": p.x_id, "conversation_id": conversation_id,
                         "created_at": turn.at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                         "in_reply_to_user_id": data.SHOP_X_ID},
                "includes": {"users": [{"id": p.x_id, "username": p.x_handle, "name": p.x_name}]}}
        return json.dumps(post, ensure_ascii=False).encode()
