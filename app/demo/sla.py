"""The demo shop's SLA policies: written before the conversations play, so every demo ticket
has clocks (no "no SLA" everywhere) and the live SLA page and reports have something to show.

Targets in business minutes of the default calendar (平日 9:00–18:00, closed on holidays); the
first matching policy by position wins (app.sla.policies.match_policy)."""
from __future__ import annotations

from app.extensions import db
from app.models import SLAPolicy
from app.sla.policies import ensure_default_calendar

#: (name, position, channel, priority, segment, first, next, resolution) — minutes, None = no target
POLICIES = (
    ("至急（優先度：緊急）", 10, None, "urgent", None, 30, 60, 480),
    ("X の公開投稿", 20, "x", None, None, 60, 120, 1440),
    ("電話の折り返し", 30, "phone", None, None, 120, 240, 1440),
    ("定期の常連のお客様", 40, None, None, "loyal", 240, 480, 1440),
    ("メール（標準）", 100, None, None, None, 480, 480, 2400),
)


def seed_sla_policies() -> int:
    """Add the demo policies (once); returns how many were added."""
    if db.session.query(SLAPolicy.id).first() is not None:
        return 0
    calendar = ensure_default_calendar()
    for name, position, channel, priority, segment, first, nxt, resolution in POLICIES:
        db.session.add(SLAPolicy(name=name, position=position, channel=channel, priority=priority,
                                 segment=segment, first_response_minutes=first, next_response_minutes=nxt,
                                 resolution_minutes=resolution, business_hours=True, pause_when_pending=True,
                                 calendar_id=calendar.id))
    db.session.commit()
    return len(POLICIES)
