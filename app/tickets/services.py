"""Ticket use cases an agent performs: reply, note, status/priority/assignee/tags, retry delivery.

Each function changes the ticket, records an Event (who, field, old, new), commits once, and only
then publishes on the event bus. Replies are queued in the outbox in the same transaction; the
worker delivers them later, never the request.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from email.utils import make_msgid, parseaddr
from typing import Any, Optional, Sequence

from flask import current_app
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from app import bus, outbox
from app.auth.access import can_see_ticket
from app.channels import registry
from app.extensions import db
from app.i18n import N_, Refused
from app.macros.checks import find_terms
from app.models import (OPEN_STATUSES, PRIORITIES, STATUSES, Agent, Attachment, Event, Message, OutboxItem,
                        Tag, Team, Ticket, utcnow)

#: Statuses an agent may leave the ticket in when replying.
REPLY_STATUSES = ("pending", "solved", "open")
_TAG_SPLIT = re.compile(r"[,、，]")


class ActionRefused(Refused):
    """The action is not possible (e.g. replying on a channel that cannot send).

    str() is the English message (logs, CLI); routes show `translated()` to the agent.
    """


def _event(agent: Agent, ticket: Ticket, kind: str, **data: Any) -> Event:
    event = Event(customer_id=ticket.customer_id, ticket_id=ticket.id, kind=kind, actor_id=agent.id,
                  data=data)
    db.session.add(event)
    return event


def _set_status(agent: Agent, ticket: Ticket, new: str) -> bool:
    """Change the status with its event and SLA timestamps; False when nothing changed."""
    if new not in STATUSES:
        raise ActionRefused(N_("Unknown status: %(status)s"), status=new)
    old = ticket.status
    if new == old:
        return False
    _event(agent, ticket, "ticket.status", field="status", old=old, new=new)
    ticket.status = new
    now = utcnow()
    if new == "solved":
        ticket.solved_at = now
    elif new == "closed":
        ticket.closed_at = now
        ticket.solved_at = ticket.solved_at or now
    elif new in OPEN_STATUSES:
        ticket.solved_at = ticket.closed_at = None
    return True


def _publish_updated(ticket: Ticket, agent: Agent, changes: list[str]) -> None:
    _publish_ticket_updated(ticket.id, ticket.customer_id, agent.id, changes)


def _publish_ticket_updated(ticket_id: int, customer_id: int, actor_id: int, changes: list[str],
                            after_message: bool = False) -> None:
    """`after_message`: published right after the "message.created" of the same commit (a reply
    or note), so subscribers that recompute the whole ticket on either event (SLA clocks, the
    inbox row) have already done so and may skip this one."""
    bus.publish("ticket.updated", ticket_id=ticket_id, customer_id=customer_id, actor_id=actor_id,
                changes=changes, after_message=after_message)


def _commit_message(message: Message, ticket: Ticket, agent: Agent, changes: list[str]) -> None:
    """Commit an agent's reply or note, then publish "message.created" and the ticket.updated
    that follows it (`after_message`). The ids are read before the commit, which expires every
    object: read after it, each would cost a SELECT (and the first handler's commit expires
    them again before the second event)."""
    db.session.flush()
    event = {"message_id": message.id, "ticket_id": ticket.id, "customer_id": ticket.customer_id,
             "channel": message.channel, "direction": message.direction}
    actor_id = agent.id
    db.session.commit()
    bus.publish("message.created", **event)
    _publish_ticket_updated(event["ticket_id"], event["customer_id"], actor_id, changes, after_message=True)


def _check_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ActionRefused(N_("The message is empty."))
    if len(body) > current_app.config["MAX_BODY_CHARS"]:
        raise ActionRefused(N_("The message is too long."))
    return body


def can_reply(ticket: Ticket) -> bool:
    return registry.is_known(ticket.channel) and registry.adapter_class(ticket.channel).can_reply


def _mail_domain() -> str:
    address = parseaddr(current_app.config.get("MAIL_FROM") or "")[1]
    return address.rpartition("@")[2] or "tsunagu.invalid"


def _thread_keys(ticket: Ticket) -> list[str]:
    """Thread keys of the ticket's sent and received messages, oldest first, newest last."""
    rows = db.session.execute(
        select(Message.thread_key).where(Message.ticket_id == ticket.id, Message.direction != "internal",
                                         Message.thread_key.is_not(None))
        .order_by(Message.created_at, Message.id)
    )
    return list(dict.fromkeys(key for (key,) in rows if key))


def _email_reply_fields(ticket: Ticket) -> dict[str, Any]:
    return {"subject": f"Re: {ticket.subject}".strip(),
            "thread_key": make_msgid(idstring=f"tsunagu.{ticket.id}", domain=_mail_domain())}


def _x_reply_fields(ticket: Ticket) -> dict[str, Any]:
    latest = db.session.scalar(
        select(Message.external_id).where(Message.ticket_id == ticket.id, Message.direction == "in",
                                          Message.external_id.is_not(None))
        .order_by(Message.created_at.desc(), Message.id.desc()).limit(1))
    return {"meta": {"in_reply_to_post_id": latest} if latest else {}}


#: How a reply addresses its thread, per channel; channels not listed need nothing extra.
#: (Candidates to move onto the adapters once they grow a hook for it.)
def _line_reply_fields(ticket: Ticket) -> dict[str, Any]:
    from app.channels.line.services import reply_fields

    return reply_fields(ticket)


_REPLY_FIELDS = {"email": _email_reply_fields, "x": _x_reply_fields, "line": _line_reply_fields}


def add_reply(agent: Agent, ticket: Ticket, body: str, status_after: str = "pending", *,
              seen_message_id: Optional[int] = None, confirmed: bool = False,
              images: Sequence[tuple[str, str, bytes]] = ()) -> Message:
    """Queue a reply to the customer on the ticket's channel and update the ticket.

    `images` are (filename, content type, bytes) an agent attached, on channels that send
    images (LINE: image messages after the text).

    Unless `confirmed`, raises ConfirmationNeeded when a colleague replied or noted after
    `seen_message_id` (the newest message the agent's page showed) or when the text uses wording
    of the reply-check dictionary; a confirmed send records the dictionary hits as an Event.
    """
    body = _check_body(body)
    if not can_reply(ticket):
        raise ActionRefused(N_("Replies cannot be sent on this channel (%(channel)s)."),
                            channel=ticket.channel)
    refusal = outbox.recipient_refusal(ticket.customer, ticket.channel)  # ourselves, a placeholder
    if refusal is not None:
        raise ActionRefused(refusal[0], **refusal[1])
    if status_after not in REPLY_STATUSES:
        raise ActionRefused(N_("Unknown status: %(status)s"), status=status_after)
    _check_channel_text(ticket, body)
    _check_unfilled(body)
    _check_images(ticket, images)
    hits = find_terms(body)
    if not confirmed:
        since = replies_since(ticket, agent, seen_message_id)
        if since or hits:
            raise ConfirmationNeeded(since, hits)
    if hits:
        _event(agent, ticket, "reply.compliance_confirmed",
               words=list(dict.fromkeys(h.term for h in hits)))
    now = utcnow()
    fields: dict[str, Any] = {"subject": "", "thread_key": None, "meta": {}}
    shaper = _REPLY_FIELDS.get(ticket.channel)
    if shaper is not None:
        fields.update(shaper(ticket))
    message = Message(ticket_id=ticket.id, customer_id=ticket.customer_id, channel=ticket.channel,
                      direction="out", author_id=agent.id, sender=agent.name, body_text=body,
                      reply_to_keys=_thread_keys(ticket), created_at=now, received_at=now, **fields)
    message.attachments = [Attachment(filename=name, content_type=ctype, size=len(data), data=data,
                                      sha256=hashlib.sha256(data).hexdigest()) for name, ctype, data in images]
    db.session.add(message)
    outbox.enqueue(message)  # the first response is recorded when it is delivered (app.outbox)
    ticket.last_agent_message_at = ticket.last_activity_at = now
    changed = _set_status(agent, ticket, status_after)
    _commit_message(message, ticket, agent, ["reply"] + (["status"] if changed else []))
    return message


class ConfirmationNeeded(ActionRefused):
    """The reply may go out only after the agent confirms: `since` are colleagues' messages
    newer than what the agent saw; `hits` the reply-check dictionary's matches in the text."""

    def __init__(self, since: list[Message], hits: list):
        self.since, self.hits = since, hits
        super().__init__(N_("Please confirm before sending."))


def replies_since(ticket: Ticket, agent: Agent, seen_message_id: Optional[int]) -> list[Message]:
    """Replies and notes by other agents on `ticket` newer than message `seen_message_id`."""
    if seen_message_id is None:
        return []
    return list(db.session.scalars(
        select(Message).where(Message.ticket_id == ticket.id, Message.id > seen_message_id,
                              Message.direction.in_(("out", "internal")),
                              or_(Message.author_id.is_(None), Message.author_id != agent.id))
        .order_by(Message.id)))


def _x_text_check(body: str) -> None:
    from app.channels.x.text import validate_public_reply

    problems = validate_public_reply(body)
    if problems:
        raise ActionRefused(N_("This reply cannot be posted on X: %(problems)s"),
                            problems=" ".join(p.message for p in problems))


#: Channel rules on the reply text that no confirmation overrides (X: weighted length, no
#: personal data in a public post).
_TEXT_CHECKS = {"x": _x_text_check}


def _check_channel_text(ticket: Ticket, body: str) -> None:
    check = _TEXT_CHECKS.get(ticket.channel)
    if check is not None:
        check(body)


def _check_images(ticket: Ticket, images: Sequence[tuple[str, str, bytes]]) -> None:
    """Images go only where the channel sends them, as many as it takes, of the kinds it takes."""
    if not images:
        return
    adapter = registry.adapter_class(ticket.channel)
    if len(images) > adapter.max_images:
        raise ActionRefused(N_("At most %(n)s images can be sent with a reply on this channel."),
                            n=adapter.max_images)
    for name, ctype, data in images:
        problem = adapter.image_refusal(name, ctype, data)
        if problem:
            raise ActionRefused(problem, name=name)


def _check_unfilled(body: str) -> None:
    """A macro variable that had no value (e.g. no coupon yet) must not reach the customer."""
    from app.macros.services import unfilled

    left = unfilled(body)
    if left:
        raise ActionRefused(N_("The reply still contains %(names)s: fill it in or remove it."),
                            names=" ".join("{%s}" % name for name in left))


def add_note(agent: Agent, ticket: Ticket, body: str) -> Message:
    """An internal note: on the timeline for agents, never sent."""
    body = _check_body(body)
    now = utcnow()
    message = Message(ticket_id=ticket.id, customer_id=ticket.customer_id, channel=ticket.channel,
                      direction="internal", author_id=agent.id, sender=agent.name, body_text=body,
                      created_at=now, received_at=now)
    db.session.add(message)
    ticket.last_activity_at = now
    _commit_message(message, ticket, agent, ["note"])
    return message


def parse_tags(text: str) -> list[str]:
    """'配送, 解約、 VIP' -> ['配送', '解約', 'VIP'] (NFKC, de-duplicated, order kept)."""
    names = (unicodedata.normalize("NFKC", part).strip()[:60] for part in _TAG_SPLIT.split(text or ""))
    return list(dict.fromkeys(name for name in names if name))


def _get_or_create_tags(names: list[str]) -> list[Tag]:
    found = {t.name: t for t in db.session.scalars(select(Tag).where(Tag.name.in_(names)))}
    for name in names:
        if name in found:
            continue
        try:
            with db.session.begin_nested():  # another agent may create the same tag meanwhile
                tag = Tag(name=name)
                db.session.add(tag)
            found[name] = tag
        except IntegrityError:
            found[name] = db.session.scalar(select(Tag).where(Tag.name == name))
    return [found[name] for name in names]


def update_ticket(agent: Agent, ticket: Ticket, *, status: Optional[str] = None,
                  priority: Optional[str] = None, assignee_id: Optional[int] = -1,
                  tags: Optional[str] = None) -> list[str]:
    """Change what was given (assignee_id None = unassign, -1 = leave); returns changed fields."""
    changes = []
    if status is not None and _set_status(agent, ticket, status):
        changes.append("status")
    if priority is not None and priority != ticket.priority:
        if priority not in PRIORITIES:
            raise ActionRefused(N_("Unknown priority: %(priority)s"), priority=priority)
        _event(agent, ticket, "ticket.priority", field="priority", old=ticket.priority, new=priority)
        ticket.priority = priority
        changes.append("priority")
    if assignee_id != -1 and assignee_id != ticket.assignee_id:
        new_agent = db.session.get(Agent, assignee_id) if assignee_id is not None else None
        if assignee_id is not None and (new_agent is None or not new_agent.active):
            raise ActionRefused(N_("No such agent."))
        _event(agent, ticket, "ticket.assigned", field="assignee", old=ticket.assignee_id,
               new=assignee_id, old_name=ticket.assignee.name if ticket.assignee else None,
               new_name=new_agent.name if new_agent else None)
        ticket.assignee_id = assignee_id
        changes.append("assignee")
    if tags is not None:
        new_tags = _get_or_create_tags(parse_tags(tags))
        old_names, new_names = [t.name for t in ticket.tags], [t.name for t in new_tags]
        if sorted(old_names) != sorted(new_names):
            _event(agent, ticket, "ticket.tags", field="tags", old=old_names, new=new_names)
            ticket.tags = new_tags
            changes.append("tags")
    if not changes:
        return changes
    ticket.last_activity_at = utcnow()
    db.session.commit()
    _publish_updated(ticket, agent, changes)
    return changes


def set_team(agent: Agent, ticket: Ticket, team_id: Optional[int]) -> bool:
    """Move the ticket to another team (None: no team); False when nothing changed.

    Sockets of agents who may no longer see it leave its room on the ticket.updated that follows
    (app.realtime.revoke)."""
    if team_id == ticket.team_id:
        return False
    new_team = db.session.get(Team, team_id) if team_id is not None else None
    if team_id is not None and new_team is None:
        raise ActionRefused(N_("No such team."))
    _event(agent, ticket, "ticket.team", field="team", old=ticket.team_id, new=team_id,
           old_name=ticket.team.name if ticket.team else None, new_name=new_team.name if new_team else None)
    ticket.team_id = team_id
    ticket.last_activity_at = utcnow()
    db.session.commit()
    _publish_updated(ticket, agent, ["team"])
    return True


def retry_delivery(agent: Agent, item_id: int) -> OutboxItem:
    """Queue a failed outbound message again; LookupError when missing or not visible."""
    item = db.session.get(OutboxItem, item_id)
    if item is None or not can_see_ticket(agent, item.message.ticket):
        raise LookupError(item_id)
    if item.status != "failed":
        raise ActionRefused(N_("Only a failed message can be retried."))
    ticket = item.message.ticket
    _event(agent, ticket, "message.retry", field="delivery", old="failed", new="queued",
           message_id=item.message_id, last_error=item.last_error)
    item = outbox.retry(item_id)  # commits the event together with the re-queued row
    _publish_updated(ticket, agent, ["delivery"])
    return item


def mark_delivery_handled(agent: Agent, item_id: int) -> OutboxItem:
    """The agent answered another way, or checked that an unconfirmed post is there: the failed
    or unverified row stops asking for attention and counts as the ticket's answer from now.
    LookupError when missing or not visible."""
    from app.outbox.service import ATTENTION, mark_handled

    item = db.session.get(OutboxItem, item_id)
    if item is None or not can_see_ticket(agent, item.message.ticket):
        raise LookupError(item_id)
    if item.status not in ATTENTION:
        raise ActionRefused(N_("Only a failed or unconfirmed message can be marked as handled."))
    ticket = item.message.ticket
    _event(agent, ticket, "message.handled", field="delivery", old=item.status, new="handled",
           message_id=item.message_id, last_error=item.last_error)
    mark_handled(item_id)
    ids = {"message_id": item.message_id, "ticket_id": ticket.id}
    db.session.commit()
    bus.publish("message.delivered", status="handled", author_id=agent.id, **ids)
    _publish_updated(ticket, agent, ["delivery"])
    return item
