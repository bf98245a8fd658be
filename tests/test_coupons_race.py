"""Coupon limits under concurrency: threads, each with its own app context and connection."""
from __future__ import annotations


from sqlalchemy import func, select

from app.coupons import policy, services
from app.extensions import db
from app.models import Agent, Coupon, CouponBudget, Ticket
from tests.coupon_helpers import coupon_input, ticket_for_new_customer
from tests.factories import make_agent
from tests.race_helpers import run_together

THREADS = 6


def _issue_job(agent_id, ticket_id, value, key=""):
    def job():
        agent = db.session.get(Agent, agent_id)
        ticket = db.session.get(Ticket, ticket_id)
        return services.issue(agent, ticket, coupon_input(value=value), key).status
    return job


def _set(supervisor, **values):
    current = policy.get_policy("agent")
    merged = {name: getattr(current, name) for name in policy.POLICY_FIELDS}
    merged.update(values)
    policy.save_policy(supervisor, "agent", merged)


def test_concurrent_issues_cannot_exceed_the_budget(app, backend, agent, supervisor):
    _set(supervisor, monthly_budget_yen=1500)
    tickets = [ticket_for_new_customer().id for _ in range(THREADS)]
    results = run_together(app, [_issue_job(agent.id, t, 500) for t in tickets])
    assert sorted(results) == ["issued"] * 3 + ["requested"] * 3, results
    db.session.expire_all()
    assert db.session.scalar(select(CouponBudget.spent_yen)) == 1500
    issued = db.session.scalar(select(func.sum(Coupon.value)).where(Coupon.status == "issued"))
    assert issued == 1500


def test_concurrent_agents_cannot_exceed_the_customer_limit(app, backend, supervisor):
    _set(supervisor, customer_limit=1, cancellation_may_exceed=False)
    ticket = ticket_for_new_customer()
    agents = [make_agent("agent").id for _ in range(THREADS)]
    results = run_together(app, [_issue_job(a, ticket.id, 300) for a in agents])
    assert sorted(results) == ["issued"] + ["requested"] * (THREADS - 1), results


def test_a_concurrent_double_submit_stores_one_coupon(app, backend, agent):
    ticket = ticket_for_new_customer()
    results = run_together(app, [_issue_job(agent.id, ticket.id, 500, "double-click")] * 2)
    assert results == ["issued", "issued"], results
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Coupon.id))) == 1
    assert db.session.scalar(select(CouponBudget.spent_yen)) == 500


def test_concurrent_approvals_decide_once(app, backend, agent):
    request = services.issue(agent, ticket_for_new_customer(), coupon_input(value=5000))
    assert request.status == "requested"
    supervisors = [make_agent("supervisor").id for _ in range(4)]

    def approve(sid):
        def job():
            try:
                return services.decide(db.session.get(Agent, sid), request.id, True).status
            except services.CouponRefused as exc:
                return exc.code
        return job

    results = run_together(app, [approve(s) for s in supervisors])
    assert sorted(results) == ["already_decided"] * 3 + ["issued"], results
    db.session.expire_all()
    assert db.session.scalar(select(CouponBudget.spent_yen)) == 5000
