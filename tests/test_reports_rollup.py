"""The weekly rollup: the main report read through it equals the raw computation after changes."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select, update

from app.customers.services import merge_customers
from app.extensions import db
from app.models import SLARollupDelta, SLAWeekRollup, Tag, Ticket, TicketSLA
from app.reports import figures, metrics, rollup
from app.reports.metrics import Filters, sla_report
from app.tickets.services import update_ticket
from tests.factories import make_agent, make_customer, make_ticket

JST = ZoneInfo("Asia/Tokyo")
FIRST = datetime(2026, 9, 30, 17, 45, tzinfo=JST)  # a Wednesday evening: the range cuts its week
CHANNELS = ("email", "line", "x", "web")
PRIORITIES = ("low", "normal", "high", "urgent")
STATUSES = ("new", "open", "pending", "solved", "closed")


def _raw(f: Filters, group_by: str) -> dict:
    metrics.USE_ROLLUP = False
    try:
        return sla_report(f, group_by)
    finally:
        metrics.USE_ROLLUP = True


def _ranges() -> list[Filters]:
    """Whole weeks, weeks cut at both ends (mid-day, mid-week), one week, less than a week."""
    monday = datetime(2026, 10, 5, tzinfo=JST)
    return [Filters(start=FIRST - timedelta(days=3), end=FIRST + timedelta(days=60)),
            Filters(start=monday, end=monday + timedelta(days=28)),
            Filters(start=monday + timedelta(days=2, hours=13), end=monday + timedelta(days=33, hours=7)),
            Filters(start=monday + timedelta(days=7), end=monday + timedelta(days=14)),
            Filters(start=monday + timedelta(days=15), end=monday + timedelta(days=18))]


def _assert_rollup_equals_raw(agents) -> None:
    checked = 0
    for f in _ranges():
        variants = [f, Filters(start=f.start, end=f.end, channel="line"),
                    Filters(start=f.start, end=f.end, priority="urgent"),
                    Filters(start=f.start, end=f.end, agent_id=agents[1].id)]
        for g in variants:
            for group_by in ("agent", "channel", "priority", "week", "tag", "none"):
                assert sla_report(g, group_by) == _raw(g, group_by), (g, group_by)
                checked += 1
    assert checked == 5 * 4 * 6
    _assert_cells_match()


def _assert_cells_match() -> None:
    """The rollup plus pending deltas, cell by cell, equals a GROUP BY of ticket_sla."""
    from_rollup = rollup.counts("week", (date(2000, 1, 3), date(2100, 1, 4)), None, None, None)
    weeks = {}
    for row in db.session.scalars(select(TicketSLA)):
        local = row.created_at.astimezone(JST).date()
        key = (local - timedelta(days=local.weekday())).isoformat()
        weeks[key] = weeks.get(key, 0) + 1
    assert {k: v[0] for k, v in from_rollup.items()} == weeks


def _sla_ticket(rnd: random.Random, customer, agents, at: datetime) -> Ticket:
    status = rnd.choice(STATUSES)
    channel, priority = rnd.choice(CHANNELS), rnd.choice(PRIORITIES)
    assignee = rnd.choice(agents + [None])
    ticket = Ticket(customer_id=customer.id, channel=channel, priority=priority, status=status, created_at=at,
                    assignee_id=assignee.id if assignee else None)
    db.session.add(ticket)
    db.session.flush()
    fr = rnd.randint(30, 90_000) if status != "new" else None
    res = rnd.randint(600, 400_000) if status in ("solved", "closed") else None
    db.session.add(TicketSLA(ticket_id=ticket.id, created_at=at, channel=channel, priority=priority, status=status,
                             assignee_id=ticket.assignee_id, first_response_seconds=fr,
                             first_response_business_seconds=fr // 3 if fr else None, resolution_seconds=res,
                             resolution_business_seconds=res // 4 if res else None,
                             replies=rnd.randint(0, 6), reopen_count=rnd.choice((0, 0, 0, 1, 2)),
                             breached=rnd.random() < 0.2, has_target=rnd.random() < 0.85, state="ok"))
    return ticket


@pytest.fixture
def desk(app):
    rnd = random.Random(1807)
    agents = [make_agent("agent", name=n) for n in ("高橋 美咲", "伊藤 健太", "渡辺 さくら")]
    customer = make_customer("小林 直樹")
    tags = [Tag(name=n) for n in ("定期便", "返金", "ギフト")]
    db.session.add_all(tags)
    tickets = []
    for _i in range(90):
        at = FIRST + timedelta(minutes=rnd.randint(0, 60 * 24 * 56))
        tickets.append(_sla_ticket(rnd, customer, agents, at))
    for ticket in tickets:
        ticket.tags = rnd.sample(tags, rnd.randint(0, 2))
    db.session.commit()
    return rnd, agents, tags, [t.id for t in tickets]


def test_rollup_equals_raw_after_random_changes(desk):
    rnd, agents, tags, ids = desk
    _assert_rollup_equals_raw(agents)
    for round_ in range(4):
        for tid in rnd.sample(ids, 25):
            row = db.session.get(TicketSLA, tid)
            ticket = db.session.get(Ticket, tid)
            change = rnd.choice(("reopen", "close", "reassign", "retag", "channel", "priority", "durations",
                                 "move"))
            if change == "reopen":
                row.status, row.reopen_count = "open", row.reopen_count + 1
            elif change == "close":
                row.status, row.resolution_seconds = rnd.choice(("solved", "closed")), rnd.randint(60, 9000)
            elif change == "reassign":
                row.assignee_id = rnd.choice([a.id for a in agents] + [None])
            elif change == "retag":
                ticket.tags = rnd.sample(tags, rnd.randint(0, 3))
            elif change == "channel":
                row.channel = rnd.choice(CHANNELS)
            elif change == "priority":
                row.priority = rnd.choice(PRIORITIES)
            elif change == "durations":
                row.first_response_seconds, row.replies = rnd.randint(5, 5000), row.replies + 1
            else:  # a ticket whose creation time is corrected moves to another week
                row.created_at = row.created_at + timedelta(days=rnd.randint(-9, 9), hours=rnd.randint(0, 23))
        # the breach sweep's bulk UPDATE (app/sla/live.py) bypasses the ORM
        db.session.execute(update(TicketSLA).where(TicketSLA.ticket_id.in_(rnd.sample(ids, 6)))
                           .values(breached=True, state="breached"))
        if round_ == 1:  # tickets gone (a deleted customer's): their rows leave with them
            gone = ids[:3]
            db.session.execute(delete(TicketSLA).where(TicketSLA.ticket_id.in_(gone)))
            ids = ids[3:]
        if round_ == 2:
            rollup.fold()
        db.session.commit()
        _assert_rollup_equals_raw(agents)
    rollup.fold()
    assert db.session.scalar(select(func.count()).select_from(SLARollupDelta)) == 0
    _assert_rollup_equals_raw(agents)


def test_changes_that_do_not_touch_the_counts_append_nothing(desk):
    _rnd, _agents, _tags, ids = desk
    rollup.fold()
    row = db.session.get(TicketSLA, ids[0])
    row.state, row.due_at = "at_risk", row.created_at + timedelta(hours=4)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(SLARollupDelta)) == 0


def test_a_rolled_back_change_leaves_no_delta(desk):
    _rnd, _agents, _tags, ids = desk
    rollup.fold()
    db.session.get(TicketSLA, ids[1]).status = "closed" if db.session.get(TicketSLA, ids[1]).status != "closed" else "open"
    db.session.flush()
    assert db.session.scalar(select(func.count()).select_from(SLARollupDelta)) == 2
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(SLARollupDelta)) == 0


def test_rebuild_command_recomputes_a_damaged_rollup(desk, runner):
    _rnd, agents, _tags, _ids = desk
    rollup.fold()
    db.session.execute(update(SLAWeekRollup).values(tickets=SLAWeekRollup.tickets + 7))
    db.session.commit()
    f = _ranges()[0]
    assert sla_report(f, "agent") != _raw(f, "agent")
    result = runner.invoke(args=["reports", "rollup", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "cells" in result.output
    db.session.expire_all()
    _assert_rollup_equals_raw(agents)


def test_the_report_folds_many_pending_deltas(desk, monkeypatch):
    _rnd, agents, _tags, ids = desk
    monkeypatch.setattr(rollup, "FOLD_AT", 10)
    for tid in ids[:12]:
        db.session.get(TicketSLA, tid).replies += 2
    db.session.commit()
    assert rollup.pending() > 10
    f = _ranges()[1]
    assert sla_report(f, "week") == _raw(f, "week")
    assert rollup.pending() == 0


def test_real_ticket_changes_keep_the_rollup_exact(app):
    """Through the services: ingest, reassign, re-tag, close, reopen, merge customers."""
    boss = make_agent("supervisor", name="森 恵子")
    helpers = [make_agent("agent", name=n) for n in ("山本 拓也", "中村 彩")]
    now = datetime.now(JST)
    tickets = [make_ticket(text, channel="api", sender=f"buyer{i}@example.jp")[0]
               for i, text in enumerate(("届いた商品が破損していました", "Skip next month's box, please",
                                         "請求書の宛名を変更したい", "ギフト包装はできますか"))]
    update_ticket(boss, tickets[0], assignee_id=helpers[0].id, tags="破損, 返品")
    update_ticket(boss, tickets[1], assignee_id=helpers[1].id, priority="high")
    update_ticket(boss, tickets[2], status="solved", assignee_id=helpers[0].id)
    update_ticket(boss, tickets[2], status="open")
    update_ticket(boss, tickets[3], status="closed", tags="ギフト")
    first, second = tickets[0].customer_id, tickets[1].customer_id
    merge_customers(boss, second, first)
    update_ticket(boss, tickets[0], assignee_id=helpers[1].id)
    rows = {r.ticket_id: r for r in db.session.scalars(select(TicketSLA))}
    assert rows[tickets[2].id].status == "open" and rows[tickets[2].id].assignee_id == helpers[0].id
    assert rows[tickets[0].id].assignee_id == helpers[1].id
    day = datetime(now.year, now.month, now.day, tzinfo=JST)
    for f in (Filters(start=day - timedelta(days=27), end=day + timedelta(days=1)),
              Filters(start=day - timedelta(days=60), end=day + timedelta(days=8))):
        for group_by in ("agent", "priority", "week", "none"):
            assert sla_report(f, group_by) == _raw(f, group_by)
    everything = sla_report(Filters(start=day - timedelta(days=60), end=day + timedelta(days=8)), "none")
    assert everything["total"]["tickets"] == 4 and everything["total"]["solved"] == 1


def test_heatmap_counts_each_ticket_in_its_shop_weekday_and_hour(desk, backend):
    expected = [[0] * 24 for _d in range(7)]
    f = _ranges()[0]
    for row in db.session.scalars(select(TicketSLA)):
        local = row.created_at.astimezone(JST)
        if f.start <= row.created_at < f.end:
            expected[local.weekday()][local.hour] += 1
    assert figures.volume_heatmap(f)["grid"] == expected
    assert sum(map(sum, expected)) == 90
    if backend == "postgresql":  # a zone with DST goes through the zone database, hour by hour
        paris = ZoneInfo("Europe/Paris")
        g = Filters(start=f.start, end=f.end, tz="Europe/Paris", tz_offset_minutes=120)
        expected = [[0] * 24 for _d in range(7)]
        for row in db.session.scalars(select(TicketSLA)):
            local = row.created_at.astimezone(paris)
            expected[local.weekday()][local.hour] += 1
        assert figures.volume_heatmap(g)["grid"] == expected


def test_the_heatmap_goes_through_the_zone_only_where_it_has_dst():
    tokyo = Filters(start=datetime(2026, 1, 5, tzinfo=JST), end=datetime(2027, 1, 4, tzinfo=JST))
    assert figures._fixed_offset(tokyo)
    berlin = Filters(start=tokyo.start, end=tokyo.end, tz="Europe/Berlin", tz_offset_minutes=60)
    assert not figures._fixed_offset(berlin)


def test_the_worker_job_folds(desk, app):
    _rnd, agents, _tags, ids = desk
    assert rollup.pending() > 0
    assert rollup._fold_job(app)["folded"] > 0
    assert rollup.pending() == 0
    _assert_cells_match()


def test_whole_weeks_of_a_range():
    monday = datetime(2026, 11, 2, tzinfo=JST)
    assert rollup.whole_weeks(monday, monday + timedelta(days=14), "Asia/Tokyo") == (
        date(2026, 11, 2), date(2026, 11, 16))
    cut = rollup.whole_weeks(monday + timedelta(minutes=1), monday + timedelta(days=20), "Asia/Tokyo")
    assert cut == (date(2026, 11, 9), date(2026, 11, 16))
    assert rollup.whole_weeks(monday + timedelta(days=1), monday + timedelta(days=9), "Asia/Tokyo") is None
    assert rollup.whole_weeks(monday, monday + timedelta(days=14), "Europe/Paris") is None
    utc_monday = monday.astimezone(ZoneInfo("UTC"))  # the same instant given in UTC
    assert rollup.whole_weeks(utc_monday, utc_monday + timedelta(days=7), "Asia/Tokyo") == (
        date(2026, 11, 2), date(2026, 11, 9))
