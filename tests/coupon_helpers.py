"""Helpers shared by the coupon tests."""
from __future__ import annotations

from datetime import timedelta

from app.coupons.services import CouponInput
from app.extensions import db
from app.models import Team, utcnow
from tests.factories import make_ticket


def coupon_input(kind: str = "amount", value: int = 500, days: int = 30, max_uses: int = 1,
                 reason: str = "配送遅延", text: str = "お届けが遅れたお詫び") -> CouponInput:
    return CouponInput(kind=kind, value=value, expires_at=utcnow() + timedelta(days=days),
                       max_uses=max_uses, reason=reason, reason_text=text)


def ticket_for_new_customer(**kwargs):
    ticket, _ = make_ticket(**kwargs)
    return ticket


def hidden_ticket():
    """A ticket of a team no plain test agent belongs to."""
    team = Team(name=f"hidden-{utcnow().timestamp()}")
    db.session.add(team)
    db.session.flush()
    ticket = ticket_for_new_customer()
    ticket.team_id = team.id
    db.session.commit()
    return ticket
