"""The message.ingested subscribers on a batch (ingest_batch): the same outcome as one by one.

A batch hands its subscribers the whole batch (one query for the live rows, one SLA refresh);
the SLA clocks of a ticket the retention subscriber flags in the same batch are computed once,
after the flag, by the batch's refresh (they still end on the commerce cutoff the flag brings).
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from app import bus
from app.extensions import db, socketio
from app.ingest import ingest_batch
from app.ingest.service import delivering
from app.models import Product, SLAPolicy, Subscription, Ticket, TicketSLA
from app.sla import live
from tests.factories import inbound, make_customer

JST = ZoneInfo("Asia/Tokyo")


def _socket(app, client, room: str):
    sio = socketio.test_client(app, flask_test_client=client)
    sid = socketio.server.manager.sid_from_eio_sid(sio.eio_sid, "/")
    socketio.server.enter_room(sid, room, namespace="/")
    return sio


def _shop_customer(email: str, ship_in_days: int):
    customer = make_customer("松本 由紀", email=email)
    product = Product(external_id=f"prod-{customer.id}", name="黒酢ドリンク")
    db.session.add(product)
    db.session.flush()
    db.session.add(Subscription(external_id=f"sub-{customer.id}", customer_id=customer.id, product_id=product.id,
                                status="active", next_ship_date=datetime.now(JST).date() + timedelta(days=ship_in_days),
                                cycle_days=28))
    db.session.commit()
    return customer


def test_a_batch_flagging_a_cancellation_ends_on_its_commerce_cutoff(app, client, supervisor, login_as):
    app.config["SHOP_CHANGE_LEAD_DAYS"] = 4
    db.session.add(SLAPolicy(name="十日", first_response_minutes=60 * 24 * 10, business_hours=False))
    db.session.commit()
    _shop_customer("kuroz@example.net", ship_in_days=9)
    login_as(supervisor)
    sio = _socket(app, client, live.ROOM)
    sio.get_received()
    results = ingest_batch([
        inbound("定期便を解約したいです。手続きをお願いします。", sender="kuroz@example.net", subject="解約希望"),
        inbound("先週届いた黒酢の賞味期限を教えてください", sender="other-shopper@example.org", subject="賞味期限"),
    ])
    assert delivering() is None  # only while the batch is delivered
    flagged, plain = (db.session.get(Ticket, r.ticket_id) for r in results)
    assert flagged.intent == "cancellation" and plain.intent is None
    cutoff = datetime.combine(datetime.now(JST).date() + timedelta(days=9 - 4 + 1), time(0), JST)
    row = db.session.get(TicketSLA, flagged.id)
    assert (row.due_rule, row.due_at) == ("commerce_cutoff", cutoff)
    assert db.session.get(TicketSLA, plain.id).due_rule == "first_response"
    told = [t for e in sio.get_received() if e["name"] == live.EVENT for t in e["args"][0]["tickets"]]
    about_flagged = [t for t in told if t["ticket_id"] == flagged.id]
    # Once after the flag when retention's handler runs first (the app's order), else before and after.
    assert about_flagged and about_flagged[-1]["due_rule"] == "commerce_cutoff"


def test_ticket_updated_outside_a_delivery_still_refreshes_the_clocks(app, agent):
    from app.tickets.services import update_ticket

    app.config["SHOP_CHANGE_LEAD_DAYS"] = 2
    db.session.add(SLAPolicy(name="十日", first_response_minutes=60 * 24 * 10, business_hours=False))
    db.session.commit()
    _shop_customer("tag-me@example.jp", ship_in_days=5)
    [result] = ingest_batch([inbound("お届け周期について質問があります", sender="tag-me@example.jp")])
    assert db.session.get(TicketSLA, result.ticket_id).due_rule == "first_response"
    update_ticket(agent, db.session.get(Ticket, result.ticket_id), tags="スキップ")  # ticket.updated
    assert db.session.get(TicketSLA, result.ticket_id).due_rule == "commerce_cutoff"


def test_with_the_sla_subscriber_detached_nothing_is_left_to_it(app):
    """A ticket.updated during a delivery is refreshed at once when the batch refresh will not run."""
    bus.unsubscribe("message.ingested", live._on_ticket)
    try:
        _shop_customer("detached@example.jp", ship_in_days=10)
        [result] = ingest_batch([inbound("今月で定期購入をやめたいです", sender="detached@example.jp")])
        row = db.session.get(TicketSLA, result.ticket_id)
        assert row is not None and row.due_rule == "commerce_cutoff"  # by ticket.updated from retention
    finally:
        bus.subscribe("message.ingested", live._on_ticket)


def test_live_rows_of_a_batch_match_one_by_one(app, client, supervisor, login_as):
    login_as(supervisor)
    sio = _socket(app, client, "agents")
    sio.get_received()
    results = ingest_batch([inbound("ギフト包装はできますか", sender="gift@example.jp", name="贈答 太郎"),
                            inbound("追伸: のし紙もお願いします", sender="gift@example.jp", name="贈答 太郎",
                                    subject="Re: お問い合わせ"),
                            inbound("Do you ship to Okinawa?", sender="island@example.com")])
    received = sio.get_received()
    rows = [e["args"][0] for e in received if e["name"] == "inbox.changed"]
    assert [r["message_id"] for r in rows] == [r.message_id for r in results]
    by_ticket = {r["ticket_id"]: r["row"] for r in rows}
    assert by_ticket[results[0].ticket_id]["customer"] == "贈答 太郎"
    assert by_ticket[results[2].ticket_id]["customer"] == "island@example.com"  # no name: the address
