"""Objects for the security tests: a ticket of another team with everything hanging off it."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from app.extensions import db
from app.models import Attachment, Message, OutboxItem, RawSource, Task, Team, utcnow
from tests.factories import make_agent, make_ticket

#: Text that must never appear in a response to an agent who may not see the ticket.
MARKER = "FOREIGN-SECRET-7f3a"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
       b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00"
       b"\x00IEND\xaeB`\x82")


@dataclass
class World:
    own_team: Team
    other_team: Team
    agent: object          # plain agent of own_team
    supervisor: object
    ticket: object         # belongs to other_team
    message: Message
    svg: Attachment
    png: Attachment
    html: Attachment
    oversize: Attachment
    outbox: OutboxItem
    task: Task


def attach(message: Message, filename: str, content_type: str, data: bytes | None,
           content_id: str | None = None) -> Attachment:
    a = Attachment(message_id=message.id, filename=filename, content_type=content_type,
                   size=len(data or b"x" * 20_000_000), data=data, oversize=data is None,
                   content_id=content_id, sha256=hashlib.sha256(data or b"").hexdigest())
    db.session.add(a)
    db.session.flush()
    return a


def build_world() -> World:
    own, other = Team(name="東京チーム"), Team(name="大阪チーム")
    db.session.add_all([own, other])
    db.session.commit()
    agent = make_agent("agent", name="別チーム 太郎", team_id=own.id)
    supervisor = make_agent("supervisor", name="監督 花子")
    ticket, message = make_ticket(f"解約したいです {MARKER}", subject=f"件名 {MARKER}",
                                  channel="email")
    ticket.team_id = other.id
    raw = RawSource(sha256=hashlib.sha256(MARKER.encode()).hexdigest(), content_type="message/rfc822",
                    size=len(MARKER), content=f"Subject: {MARKER}\r\n\r\nhi".encode(), channel="email")
    db.session.add(raw)
    db.session.flush()
    message.raw_id = raw.id
    message.body_html = (f'<p>{MARKER}</p><img src="cid:logo@x"><img data-src="https://tracker.example/p.gif">')
    svg = attach(message, 'evil".svg', "image/svg+xml",
                 b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')
    png = attach(message, "logo.png", "image/png", PNG, content_id="logo@x")
    html = attach(message, "請求書\r\n.html", "text/html", b"<script>alert(1)</script>")
    oversize = attach(message, "big.zip", "application/zip", None)
    out = Message(ticket_id=ticket.id, customer_id=ticket.customer_id, channel="email", direction="out",
                  body_text=f"返信 {MARKER}", sender="support@tsunagu.example")
    db.session.add(out)
    db.session.flush()
    outbox = OutboxItem(message_id=out.id, channel="email", status="failed", last_error="boom")
    task = Task(ticket_id=ticket.id, customer_id=ticket.customer_id, kind="callback",
                due_at=utcnow() + timedelta(hours=1), note=MARKER)
    db.session.add_all([outbox, task])
    db.session.commit()
    return World(own, other, agent, supervisor, ticket, message, svg, png, html, oversize, outbox, task)
