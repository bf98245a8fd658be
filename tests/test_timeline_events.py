"""Timeline events read as sentences (app/customers/event_text.py): in the viewer's language, dates
in the shop's time zone, never a Python dict — on the ticket page, the customer page and in the API."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from flask import render_template_string
from flask_babel import refresh

from app.auth.services import create_token
from app.coupons import services as coupons
from app.customers.event_text import KNOWN_KINDS, summary
from app.customers.services import merge_customers
from app.extensions import db
from app.models import Event, Subscription
from app.retention import services as retention
from app.tickets.services import update_ticket
from tests.coupon_helpers import coupon_input
from tests.factories import make_agent, make_customer, make_ticket
from tests.retention_helpers import make_product, make_subscription

#: What an internal record looks like when it leaks: a dict or list repr, raw field names, a kind.
LEAK = re.compile(r"[{}\[\]]|'\w+':|\bNone\b|\bbefore\b:|\bafter\b:|next_ship_date|\b[a-z]+\.[a-z_]+\b")


def words(app, lang: str, event: Event) -> str:
    """The event's sentence for a viewer whose browser asks for `lang`."""
    with app.test_request_context(headers={"Accept-Language": lang}):
        # Tests share one app context (and its g) across requests; a server gives each request its own.
        refresh()
        return summary(event)


def assert_readable(text: str) -> None:
    assert text.strip() and not LEAK.search(text), text


def cancellation_ticket(agent_name: str = "山田"):
    ticket, _message = make_ticket("毎月届く青汁が飲みきれず溜まる一方なので、定期コースを解約させてください。",
                                   name="木村 さやか", sender="sayaka.kimura@example.org",
                                   created_at=datetime.now(timezone.utc) - timedelta(hours=1))
    db.session.refresh(ticket)
    assert ticket.intent == "cancellation"
    return ticket


def test_a_skip_reads_as_who_and_which_dates_in_each_language(app):
    yamada = make_agent(name="山田")
    ticket = cancellation_ticket()
    with app.test_request_context():
        sub = make_subscription(ticket.customer_id, make_product("乳酸菌サプリ", "60粒", family="lactic"),
                                next_ship=retention.calendar().today + timedelta(days=25))
        old = sub.next_ship_date
        retention.execute(yamada, ticket, "skip", {}, sub.id, note="在庫が多いため", idempotency_key="tl-skip")
    new = db.session.get(Subscription, sub.id).next_ship_date
    event = db.session.query(Event).filter_by(kind="subscription.skip").one()

    english = words(app, "en", event)
    assert english == f"山田 skipped a delivery: {old:%b} {old.day} → {new:%b} {new.day}"
    japanese = words(app, "ja", event)
    assert "山田" in japanese and f"{old.month}/{old.day} → {new.month}/{new.day}" in japanese
    assert "{" not in japanese and "before" not in japanese and "subscription" not in japanese


def test_every_kind_the_app_writes_has_a_sentence(app):
    """One event of every kind, with the data the writing code gives it, in both languages."""
    yamada = make_agent(name="山田 太郎")
    customer = make_customer("原田 美咲")
    product = make_product("黒酢もろみ", "90粒", family="kurozu")
    other = make_product("黒酢もろみ", "30粒 お試し", family="kurozu")
    snap = {"status": "active", "product_id": product.id, "quantity": 2, "cycle_days": 30, "price": 7560,
            "next_ship_date": "2026-12-12", "paused_until": None, "cancelled_at": None}
    after = {
        "subscription.skip": dict(snap, next_ship_date="2027-01-11"),
        "subscription.pause": dict(snap, status="paused", paused_until="2027-03-12", next_ship_date="2027-03-12"),
        "subscription.resume": dict(snap, next_ship_date="2026-12-20"),
        "subscription.cycle": dict(snap, cycle_days=60),
        "subscription.swap": dict(snap, product_id=other.id),
        "subscription.quantity": dict(snap, quantity=1),
        "subscription.coupon": snap,
        "subscription.cancel": dict(snap, status="cancelled", cancelled_at="2026-12-01T15:30:00+00:00"),
    }
    data = {
        "ticket.status": {"field": "status", "old": "open", "new": "solved"},
        "ticket.priority": {"field": "priority", "old": "normal", "new": "urgent"},
        "ticket.assigned": {"field": "assignee", "old": None, "new": yamada.id, "old_name": None,
                            "new_name": "山田 太郎"},
        "ticket.team": {"field": "team", "old": 2, "new": None, "old_name": "定期便チーム", "new_name": None},
        "ticket.tags": {"field": "tags", "old": ["配送"], "new": ["配送", "返金"]},
        "ticket.follow_up": {"previous_ticket_id": 41},
        "message.retry": {"field": "delivery", "old": "failed", "new": "queued", "message_id": 9,
                          "last_error": "550 mailbox unavailable"},
        "message.handled": {"field": "delivery", "old": "unverified", "new": "handled", "message_id": 11,
                            "last_error": "X API 503"},
        "reply.compliance_confirmed": {"words": ["絶対", "必ず治る"]},
        "customer.merged": {"source": 8, "target": customer.id, "moved": {"tickets": 2}, "source_name": "はらだ"},
        "customer.unmerged": {"source": 8, "target": customer.id, "merge_event": 5},
        "line.follow": {"webhook_event_id": "01HZX", "at": "2026-12-01T00:00:00+00:00"},
        "line.unfollow": {"webhook_event_id": "01HZY", "at": "2026-12-02T00:00:00+00:00"},
        "line.linked": {"line_user_id": "U4af4980629ba2c7e1c0a3d5b4e6f7a81", "via": "order_number",
                        "key": "A-771204", "source": "agent", "merged_from": 12},
        "followup.task_done": {"task_id": 3},
        "followup.task_skipped": {"task_id": 4},
        "followup.consent": {"source": "checkout"},
        "followup.unsubscribed": {"via": "one-click"},
        "x.listening_ticket": {"post_id": "1790000000000000001", "url": "https://x.com/i/web/status/1"},
        "x.mentions_gap": {"from": "1", "to": "2"},
        "retention.flagged": {"reason": "surplus", "message_id": 3, "source": "detected",
                              "requested_at": "2026-12-01T00:00:00+00:00", "matched": ["解約"],
                              "priority": {"old": "normal", "new": "high"}},
        "retention.cleared": {"before": {"intent": "cancellation", "reason": "price"}, "priority": "normal"},
        "retention.reason": {"field": "reason", "old": "other", "new": "price"},
        "retention.outcome": {"field": "outcome", "old": "open", "new": "saved", "saved_by": "skip",
                              "value_retained": 90720},
        "retention.maybe": {"reason": "price", "matched": []},
        "retention.skip_requested": {"reason": None, "matched": []},
        "subscription.action_retry": {"action_id": 4, "kind": "skip"},
        "subscription.action_failed": {"action_id": 4, "kind": "pause", "backend": "webhook",
                                       "error": "HTTP 503 from the shop"},
        "coupon.issued": {"coupon_id": 1, "code": "TSN-7QK2", "kind": "amount", "value": 800, "reason": "配送遅延"},
        "coupon.requested": {"coupon_id": 2, "code": None, "kind": "percent", "value": 30, "reason": "品質",
                             "over": ["max_percent"]},
        "coupon.approved": {"coupon_id": 2, "code": "TSN-9ZZ1", "kind": "percent", "value": 30},
        "coupon.refused": {"coupon_id": 3, "code": None, "kind": "amount", "value": 5000},
        "coupon.redeemed": {"coupon_id": 1, "code": "TSN-7QK2", "order_id": "A-100", "uses": 1},
        "coupon.denied": {"why": "self_approval", "coupon_id": 3},
        "coupon.policy": {"role": "agent", "before": {"max_amount": 1000}, "after": {"max_amount": 1500}},
        "coupon.reason": {"label": "誕生月", "active": False},
    }
    for kind, snapshot in after.items():
        data[kind] = {"action_id": 1, "subscription_id": 1, "before": snap, "after": snapshot,
                      "changes": ["The delivery of 2026-12-12 is skipped"], "notes": [], "reason": "surplus",
                      "backend": "local"}
    assert set(KNOWN_KINDS) <= set(data), set(KNOWN_KINDS) - set(data)
    for kind, details in data.items():
        event = Event(customer_id=customer.id, kind=kind, actor_id=yamada.id, data=details,
                      created_at=datetime(2026, 12, 2, 3, 0, tzinfo=timezone.utc))
        db.session.add(event)
        db.session.flush()
        for lang in ("en", "ja"):
            text = words(app, lang, event)
            assert_readable(text)
            assert "recorded an activity" not in text, (kind, text)

    def day_of(kind: str, lang: str) -> str:
        return words(app, lang, db.session.query(Event).filter_by(kind=kind).one())

    assert "Dec 12 → Jan 11" in day_of("subscription.skip", "en") and "12/12 → 1/11" in day_of("subscription.skip", "ja")
    assert "Mar 12" in day_of("subscription.pause", "en")
    # Cancelled at 15:30 UTC on Dec 1 is Dec 2 in Tokyo.
    assert "Dec 2" in day_of("subscription.cancel", "en") and "12/2" in day_of("subscription.cancel", "ja")
    assert "30粒 お試し" in day_of("subscription.swap", "en")
    assert "¥90,720" in day_of("retention.outcome", "en")
    assert "550" not in day_of("message.retry", "en")  # the error stays in the data, not the sentence


def test_unknown_kinds_and_odd_data_read_as_a_plain_sentence(app):
    customer = make_customer("野村 健")
    odd = [
        Event(customer_id=customer.id, kind="loyalty.points_added", data={"points": 120, "before": {"total": 3}}),
        Event(customer_id=customer.id, kind="subscription.teleport", data={"before": {"status": "active"}}),
        Event(customer_id=customer.id, kind="subscription.skip", data={"before": "garbled", "after": [1, 2]}),
        Event(customer_id=customer.id, kind="ticket.status", data=None),
    ]
    db.session.add_all(odd)
    db.session.flush()
    for event in odd:
        for lang in ("en", "ja"):
            assert_readable(words(app, lang, event))
    assert words(app, "en", odd[0]) == "The system recorded an activity (loyalty points added)"


def test_a_year_away_reads_with_its_year(app):
    customer = make_customer("北村 優")
    event = Event(customer_id=customer.id, kind="subscription.pause", created_at=datetime(2026, 1, 5, tzinfo=timezone.utc),
                  data={"before": {"next_ship_date": "2026-01-20"}, "after": {"paused_until": "2027-02-01"}})
    db.session.add(event)
    db.session.flush()
    assert "Feb 1, 2027" in words(app, "en", event)
    assert "2027/2/1" in words(app, "ja", event)


def test_the_ticket_and_customer_pages_show_sentences_at_shop_time(app, client, login_as):
    kato = make_agent(name="加藤")
    kato.locale = "en"
    ticket = cancellation_ticket()
    db.session.commit()
    with app.test_request_context():
        sub = make_subscription(ticket.customer_id, make_product("オメガ3", "120粒", family="omega"),
                                next_ship=retention.calendar().today + timedelta(days=40))
        retention.execute(kato, ticket, "cycle", {"cycle_days": 60}, sub.id, idempotency_key="tl-cycle")
        update_ticket(kato, ticket, priority="urgent", tags="解約, 定期")
        coupons.issue(kato, ticket, coupon_input(value=300), idempotency_key="tl-coupon")
    # An event at 16:45 UTC shows at 01:45 the next day in Tokyo.
    db.session.add(Event(customer_id=ticket.customer_id, ticket_id=ticket.id, kind="ticket.status", actor_id=kato.id,
                         data={"field": "status", "old": "new", "new": "open"},
                         created_at=datetime(2026, 11, 30, 16, 45, tzinfo=timezone.utc)))
    db.session.commit()
    login_as(kato)
    for path in (f"/tickets/{ticket.id}", f"/customers/{ticket.customer_id}"):
        html = client.get(path).get_data(as_text=True)
        events = re.findall(r'<div class="entry event[^"]*"[^>]*>(.*?)</div>', html, re.S)
        assert len(events) >= 5, path
        for chunk in events:
            text = re.sub(r"<[^>]+>", " ", chunk)
            assert "{" not in text and "&#39;" not in text and "before:" not in text, text
        assert "加藤 changed the delivery cycle: every 30 → 60 days" in html
        assert "加藤 changed the priority: High → Urgent" in html
        assert "加藤 issued coupon" in html and "¥300" in html
        assert "2026-12-01 01:45" in html  # the shop's time zone, not UTC


def test_api_events_carry_a_summary_beside_the_machine_fields(app, client):
    mori = make_agent(name="森")
    ticket = cancellation_ticket()
    with app.test_request_context():
        sub = make_subscription(ticket.customer_id, make_product("DHA", "30日分", family="dha"),
                                next_ship=retention.calendar().today + timedelta(days=30))
        retention.execute(mori, ticket, "skip", {}, sub.id, idempotency_key="tl-api")
    token = create_token(mori)
    for lang in ("en", "ja"):
        refresh()  # see words()
        response = client.get(f"/api/v1/customers/{ticket.customer_id}/timeline?per_page=100",
                              headers={"Authorization": f"Bearer {token}", "Accept-Language": lang})
        assert response.status_code == 200, response.data[:300]
        events = [item["event"] for item in response.get_json()["items"] if item["type"] == "event"]
        assert {"subscription.skip", "retention.flagged"} <= {e["kind"] for e in events}
        for event in events:
            assert_readable(event["summary"])
            assert isinstance(event["data"], dict)  # the machine fields stay as they were
        skip = next(e for e in events if e["kind"] == "subscription.skip")
        new = date.fromisoformat(skip["data"]["after"]["next_ship_date"])
        assert (f"{new:%b} {new.day}" if lang == "en" else f"{new.month}/{new.day}") in skip["summary"]
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["components"]["schemas"]["Event"]["properties"]["summary"]["type"] == "string"


def test_sentences_follow_each_request_not_the_first(app):
    """Nothing is cached across requests: the same event alternates languages."""
    customer = make_customer("石井 葵")
    event = Event(customer_id=customer.id, kind="subscription.skip", created_at=datetime(2026, 12, 1, tzinfo=timezone.utc),
                  data={"before": {"next_ship_date": "2026-12-12"}, "after": {"next_ship_date": "2027-01-11"}})
    db.session.add(event)
    db.session.flush()
    seen = [words(app, lang, event) for lang in ("ja", "en", "ja", "en")]
    assert seen[0] == seen[2] and seen[1] == seen[3] and "12/12" in seen[0] and "Dec 12" in seen[1]
    with app.test_request_context(headers={"Accept-Language": "en"}):
        refresh()
        rendered = render_template_string("{{ event_summary(e) }}", e=event)
    assert rendered == seen[1]
