"""The weekly rollup of `ticket_sla` the supervisor reports read for whole weeks.

`SLAWeekRollup` holds, per shop week (Monday, Asia/Tokyo) x assignee x channel x priority, the
counts and sums the main report adds up. It is never updated in place by writers: database
triggers on `ticket_sla` (every write path: the clocks, the breach sweep's bulk UPDATE, cascades,
an agent's removal) append signed `SLARollupDelta` rows in the writer's own transaction, so the
figures stay exact and concurrent writers never wait on a shared counter row; readers add the
pending deltas to the rollup and app/reports/rollup.py folds them in from time to time.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import Date, String, event
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.sla import TicketSLA

#: The zone the rollup's weeks are cut in (no DST: the SQLite trigger adds a fixed offset).
ROLLUP_TZ = "Asia/Tokyo"
ROLLUP_TZ_OFFSET_MINUTES = 540
#: The counters, in this order, in both tables and in the triggers.
MEASURES = ("tickets", "solved", "replies", "reopened", "decided", "met")


class _Measures:
    tickets: Mapped[int] = mapped_column(default=0)
    #: Tickets not in an open status.
    solved: Mapped[int] = mapped_column(default=0)
    #: Sum of `ticket_sla.replies`.
    replies: Mapped[int] = mapped_column(default=0)
    #: Tickets reopened at least once.
    reopened: Mapped[int] = mapped_column(default=0)
    #: Tickets with a target that breached or closed (SLA attainment's denominator) / met it.
    decided: Mapped[int] = mapped_column(default=0)
    met: Mapped[int] = mapped_column(default=0)


class SLAWeekRollup(_Measures, db.Model):
    """Folded counts of one week x assignee x channel x priority cell."""

    __tablename__ = "sla_week_rollup"
    #: Monday of the week, shop time (ROLLUP_TZ).
    week: Mapped[date] = mapped_column(Date, primary_key=True)
    #: The assignee's id, 0 for unassigned (a key column cannot be NULL).
    assignee_key: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    priority: Mapped[str] = mapped_column(String(10), primary_key=True)


class SLARollupDelta(_Measures, db.Model):
    """A signed change to one cell, appended by the `ticket_sla` triggers, not yet folded."""

    __tablename__ = "sla_rollup_deltas"
    # No index but the key: every ticket change appends here, and the table stays small (folded).
    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[date] = mapped_column(Date)
    assignee_key: Mapped[int]
    channel: Mapped[str] = mapped_column(String(20))
    priority: Mapped[str] = mapped_column(String(10))


# ticket_sla is created after (and emptied before) the delta table: its triggers write there, and
# a test database emptied row by row must not leave fresh deltas behind.
TicketSLA.__table__.add_is_dependent_on(SLARollupDelta.__table__)
TicketSLA.__table__.add_is_dependent_on(SLAWeekRollup.__table__)


@event.listens_for(TicketSLA.__table__, "after_create")
def _create_triggers(target, connection, **kw) -> None:
    from app.reports.rollup_ddl import create_triggers

    create_triggers(connection)
