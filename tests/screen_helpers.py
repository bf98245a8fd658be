"""Helpers for the browser tests that walk the main screens (accessibility, phone layout): a seeded
shop with something on every screen, signing in, the screens' paths and where screenshots go."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from app import demo
from app.coupons import services as coupons
from app.demo import data
from app.extensions import db
from app.models import Agent, ListeningPost, Ticket, utcnow
from app.search.indexer import drain
from tests.coupon_helpers import coupon_input

SHOTS = os.environ.get("TSUNAGU_SCREENSHOTS") or os.path.join(tempfile.gettempdir(), "tsunagu-screens")
SUPERVISOR = "supervisor@demo.example"
AGENT = "agent@demo.example"


@dataclass
class Shop:
    """What the seeded shop holds, by the screens that show it."""

    #: 'email', 'x', 'phone', 'cancellation' (an email one), 'open' (an unanswered email ticket)
    ticket_ids: dict[str, int] = field(default_factory=dict)
    customer_id: int = 0
    search_word: str = ""

    def screens(self) -> dict[str, str]:
        """Name -> path of every main screen."""
        t = self.ticket_ids
        return {
            "inbox": "/",
            "inbox-email": "/?channel=email",
            "ticket-email": f"/tickets/{t['email']}",
            "ticket-x": f"/tickets/{t['x']}",
            "ticket-phone": f"/tickets/{t['phone']}",
            "ticket-cancellation": f"/tickets/{t['cancellation']}",
            "customer": f"/customers/{self.customer_id}",
            "search": f"/search?q={self.search_word}",
            "search-customers": f"/search?q={self.search_word}&type=customers",
            "sla-live": "/sla/live",
            "sla-policies": "/sla/policies",
            "sla-calendar": "/sla/calendar",
            "reports": "/reports/",
            "listening": "/social/listening",
            "x-usage": "/social/x/usage",
            "coupon-requests": "/coupons/requests",
            "coupon-policy": "/coupons/policy",
            "macros": "/admin/macros",
            "reply-check": "/admin/reply-check",
            "new-call": "/calls/new",
        }


def seed_shop() -> Shop:
    """The demo shop (tickets on every channel, cancellations with subscriptions), plus what the demo
    leaves empty: posts waiting on the listening screen and a coupon request over the limit."""
    demo.seed(customers=20)
    shop = Shop()
    tickets = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
    for ticket in tickets:
        kind = "cancellation" if ticket.intent == "cancellation" and ticket.channel == "email" else ticket.channel
        shop.ticket_ids.setdefault(kind, ticket.id)
        if ticket.channel == "email" and ticket.status in ("new", "open") and ticket.intent != "cancellation":
            shop.ticket_ids.setdefault("open", ticket.id)  # in the inbox's default list, answerable
    shop.customer_id = db.session.get(Ticket, shop.ticket_ids["cancellation"]).customer_id
    shop.search_word = "定期"
    now = utcnow()
    for n, (handle, name, text) in enumerate([
        ("kurozu_fan", "黒酢好きのミカ", "つなぐ黒酢、今朝も飲んだ。酸っぱすぎないのがいい"),
        ("aojiru_days", "Ken (green juice)", "Tried the Tsunagu aojiru trial pack — the delivery came a day late though"),
    ]):
        db.session.add(ListeningPost(post_id=f"99887766{n}", author_id=f"55{n}", author_handle=handle,
                                     author_name=name, text=text, url=f"https://x.com/{handle}/status/99887766{n}",
                                     keywords=["つなぐ"], posted_at=now - timedelta(hours=n + 1)))
    db.session.commit()
    agent = db.session.scalar(select(Agent).where(Agent.email == AGENT))
    coupons.issue(agent, db.session.get(Ticket, shop.ticket_ids["email"]),
                  coupon_input(value=9000, reason="配送遅延", text="二度続けて遅配になったお詫び"))
    for _ in range(20):  # the search index, so the search screen shows highlighted hits
        result = drain()
        if not result.get("queue") and not result.get("backfilling"):
            break
    return shop


def sign_in(context, base: str, email: str = SUPERVISOR):
    """A page of the context, signed in (demo password)."""
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", data.PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(lambda url: "/login" not in url)
    return page


def screenshot(page, name: str) -> str:
    os.makedirs(SHOTS, exist_ok=True)
    path = os.path.join(SHOTS, f"{name}.png")
    page.screenshot(path=path, full_page=True)
    print("screenshot:", path)
    return path
