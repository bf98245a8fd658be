"""Save outcomes are judged when the save held, by the worker job, not at the click."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Event, RetentionCase, Subscription
from app.reports import figures
from app.reports.metrics import Filters
from app.retention import outcomes, services
from tests.factories import make_ticket
from tests.retention_helpers import make_product, make_subscription, req  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("req")
TOKYO = ZoneInfo("Asia/Tokyo")


def today():
    return services.calendar().today


def on(day) -> datetime:
    """Noon in Tokyo on `day`, as an aware UTC datetime (the job's `now`)."""
    return datetime.combine(day, time(12), TOKYO).astimezone(timezone.utc)


def request_with_subscription(text, next_in=20, **kw):
    ticket, _ = make_ticket(text, created_at=datetime.now(timezone.utc) - timedelta(hours=1), **kw)
    db.session.refresh(ticket)
    assert ticket.intent == "cancellation"
    sub = make_subscription(ticket.customer_id, make_product(name="黒酢サプリ", family="kurozu"),
                            next_ship=today() + timedelta(days=next_in))
    return ticket, sub


def case_of(ticket) -> RetentionCase:
    case = db.session.scalar(select(RetentionCase).where(RetentionCase.ticket_id == ticket.id))
    db.session.refresh(case)
    return case


def test_a_skip_is_pending_until_the_next_shipment_then_saved(agent):
    ticket, sub = request_with_subscription("サプリが余っているので定期をやめたいです。")
    services.execute(agent, ticket, "skip", {}, sub.id, version=sub.version)
    db.session.refresh(sub)
    case = case_of(ticket)
    assert (case.outcome, case.outcome_due_on, case.outcome_rule) == ("pending", sub.next_ship_date, "next_shipment")
    assert outcomes.judge_due(on(sub.next_ship_date - timedelta(days=1))) == {"saved": 0, "cancelled": 0}
    assert case_of(ticket).outcome == "pending"
    assert outcomes.judge_due(on(sub.next_ship_date)) == {"saved": 1, "cancelled": 0}
    case = case_of(ticket)
    assert (case.outcome, case.saved_by, case.outcome_rule) == ("saved", "skip", "next_shipment")
    assert case.value_retained == services.annual_value(sub)
    judged = db.session.scalar(select(Event).where(Event.kind == "retention.outcome").order_by(Event.id.desc()))
    assert judged.data["old"] == "pending" and judged.data["new"] == "saved" and judged.actor_id is None
    # judged once: running again changes nothing
    assert outcomes.judge_due(on(sub.next_ship_date + timedelta(days=3))) == {"saved": 0, "cancelled": 0}


def test_a_save_that_did_not_hold_is_a_cancellation_at_once(agent):
    ticket, sub = request_with_subscription("高いので解約させてください。", next_in=40)
    services.execute(agent, ticket, "cycle", {"cycle_days": 60}, sub.id, version=sub.version)
    # the shop reports the customer cancelled there a week later
    db.session.refresh(sub)
    sub.status, sub.next_ship_date = "cancelled", None
    db.session.commit()
    assert outcomes.judge_due(on(today() + timedelta(days=7))) == {"saved": 0, "cancelled": 1}
    case = case_of(ticket)
    assert case.outcome == "cancelled" and case.value_retained == 0 and case.saved_by is None


def test_the_window_rule(app, agent):
    app.config.update(RETENTION_SAVE_RULE="window", RETENTION_SAVE_WINDOW_DAYS=45)
    ticket, sub = request_with_subscription("引っ越すので一旦やめたいです。解約で。")
    services.execute(agent, ticket, "pause", {"months": 1}, sub.id, version=sub.version)
    case = case_of(ticket)
    assert (case.outcome_due_on, case.outcome_rule) == (today() + timedelta(days=45), "window")
    assert outcomes.judge_due(on(today() + timedelta(days=44)))["saved"] == 0
    assert outcomes.judge_due(on(today() + timedelta(days=45)))["saved"] == 1
    assert "45 days after the action" in outcomes.describe_rule()


def test_saved_by_conversation_also_waits(client, agent, login_as):
    ticket, sub = request_with_subscription("もう定期はいらないので解約します。")
    login_as(agent)
    client.post(f"/tickets/{ticket.id}/retention/outcome", data={"outcome": "saved", "note": "説明して継続に"})
    case = case_of(ticket)
    assert (case.outcome, case.saved_by, case.outcome_due_on) == ("pending", "conversation", sub.next_ship_date)


def test_asking_again_while_pending_reopens_the_request(agent):
    from app.ingest import ingest
    from tests.factories import inbound

    ticket, sub = request_with_subscription("定期便を解約したいです。", sender="again@example.jp", thread_key="again-1")
    services.execute(agent, ticket, "skip", {}, sub.id, version=sub.version)
    ingest(inbound("やはり定期便を解約してください。", sender="again@example.jp", reply_to_keys=("again-1",),
                   created_at=datetime.now(timezone.utc) + timedelta(seconds=5)))
    assert case_of(ticket).outcome == "open"
    assert outcomes.judge_due(on(today() + timedelta(days=400))) == {"saved": 0, "cancelled": 0}


def test_the_save_rate_counts_pending_apart_and_names_its_rule(agent):
    held, held_sub = request_with_subscription("余っているので解約したい。", sender="held@example.jp")
    waiting, waiting_sub = request_with_subscription("定期をやめたいです、多すぎて。", sender="wait@example.jp", next_in=60)
    services.execute(agent, held, "skip", {}, held_sub.id, version=held_sub.version)
    services.execute(agent, waiting, "skip", {}, waiting_sub.id, version=waiting_sub.version)
    db.session.refresh(held_sub)
    outcomes.judge_due(on(held_sub.next_ship_date))
    start = datetime.now(timezone.utc) - timedelta(days=2)
    saves = figures.save_rates(Filters(start=start, end=datetime.now(timezone.utc) + timedelta(days=1)))
    totals = [sum(r[k] for r in saves["reason"]) for k in ("cases", "saved", "pending", "decided")]
    assert totals == [2, 1, 1, 1]  # the pending save is neither saved nor in the rate's denominator
    assert all(r["save_rate"] in (None, 1.0) for r in saves["reason"])
    assert saves["rule"][0]["key"] == "next_shipment" and "next shipment" in saves["rule"][0]["label"]
    assert db.session.get(Subscription, waiting_sub.id).status == "active"


def test_the_worker_runs_the_judging_job(app, agent):
    from app import worker

    ticket, sub = request_with_subscription("定期の解約希望、在庫過多のため。", next_in=10)
    services.execute(agent, ticket, "skip", {}, sub.id, version=sub.version)
    db.session.execute(RetentionCase.__table__.update().values(outcome_due_on=today() - timedelta(days=1)))
    db.session.commit()
    results = worker.run_once(app)
    assert results["retention.outcomes"] == {"saved": 1, "cancelled": 0}
