"""The X API budget: posts read and written per calendar month (UTC), and how fast we may poll.

X plans cap the posts an app reads and writes per month. Every timeline/search page adds its
posts to `reads`; every delivered reply adds one `write` (a bus subscriber, after the outbox's
commit). Polling keeps its normal interval until X_BUDGET_SLOWDOWN_AT of the read cap is used,
then slows down linearly towards X_POLL_MAX_SECONDS; at the cap mention polling pauses until the
next month, visibly (ChannelState.last_error and the supervisors' usage page), never silently.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping, Optional

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app import bus
from app.extensions import db
from app.models import Message, XUsage, utcnow

log = logging.getLogger(__name__)


def month_key(now: Optional[datetime] = None) -> str:
    return (now or utcnow()).astimezone(timezone.utc).strftime("%Y-%m")


def next_month_start(now: Optional[datetime] = None) -> datetime:
    now = (now or utcnow()).astimezone(timezone.utc)
    year, month = (now.year + 1, 1) if now.month == 12 else (now.year, now.month + 1)
    return datetime(year, month, 1, tzinfo=timezone.utc)


def record_usage(reads: int = 0, writes: int = 0, calls: int = 0, polls: int = 0,
                 now: Optional[datetime] = None) -> None:
    """Add to this month's counters atomically (no commit: the caller owns the transaction)."""
    month = month_key(now)
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(XUsage).values(month=month, reads=0, writes=0, calls=0, polls=0,
                                             updated_at=utcnow())
                       .on_conflict_do_nothing(index_elements=["month"]))
    db.session.execute(update(XUsage).where(XUsage.month == month).values(
        reads=XUsage.reads + reads, writes=XUsage.writes + writes, calls=XUsage.calls + calls,
        polls=XUsage.polls + polls, updated_at=utcnow()))


@dataclass(frozen=True)
class Budget:
    month: str
    reads: int
    writes: int
    polls: int
    read_cap: int
    write_cap: int

    @property
    def reads_left(self) -> int:
        return max(self.read_cap - self.reads, 0)

    @property
    def writes_left(self) -> int:
        return max(self.write_cap - self.writes, 0)

    @property
    def read_share(self) -> float:
        return self.reads / self.read_cap if self.read_cap > 0 else 0.0

    @property
    def write_share(self) -> float:
        return self.writes / self.write_cap if self.write_cap > 0 else 0.0

    @property
    def reads_exhausted(self) -> bool:
        return self.read_cap > 0 and self.reads >= self.read_cap


def current_budget(config: Mapping[str, Any], now: Optional[datetime] = None) -> Budget:
    month = month_key(now)
    row = db.session.scalar(select(XUsage).where(XUsage.month == month))
    return Budget(month, row.reads if row else 0, row.writes if row else 0, row.polls if row else 0,
                  int(config.get("X_MONTHLY_READ_CAP") or 0), int(config.get("X_MONTHLY_WRITE_CAP") or 0))


def usage_history(months: int = 6) -> list[XUsage]:
    return list(db.session.scalars(select(XUsage).order_by(XUsage.month.desc()).limit(months)))


def poll_interval(config: Mapping[str, Any], budget: Budget) -> tuple[Optional[float], Optional[str]]:
    """(seconds until the next mention poll, or None when paused; a warning for supervisors)."""
    base = float(config.get("X_POLL_SECONDS") or 120)
    slowest = max(float(config.get("X_POLL_MAX_SECONDS") or 3600), base)
    if budget.reads_exhausted:
        return None, (f"X monthly read cap reached ({budget.reads}/{budget.read_cap} posts in "
                      f"{budget.month}): mention polling is paused until next month.")
    start = float(config.get("X_BUDGET_SLOWDOWN_AT") or 0.7)
    share = budget.read_share
    if budget.read_cap <= 0 or share < start:
        return base, None
    ramp = min((share - start) / max(1.0 - start, 1e-6), 1.0)
    seconds = base + (slowest - base) * ramp
    return seconds, (f"X read budget {share:.0%} used ({budget.reads}/{budget.read_cap} in {budget.month}): "
                     f"polling slowed to every {seconds / 60:.0f} min.")


def writes_warning(budget: Budget) -> Optional[str]:
    if budget.write_cap > 0 and budget.writes >= budget.write_cap:
        return f"X monthly write cap reached ({budget.writes}/{budget.write_cap}): X will refuse new posts."
    return None


@bus.subscribe("message.delivered")
def count_delivered_post(message_id: int, status: str, **_: Any) -> None:
    """One write per X reply the outbox marked sent (after its commit)."""
    if status != "sent":
        return
    try:
        message = db.session.get(Message, message_id)
        if message is None or message.channel != "x":
            return
        record_usage(writes=1, calls=1)
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("could not count the X post of message %s", message_id)
