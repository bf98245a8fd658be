"""The PostgreSQL search backend's own promises: same transaction, no queue, rebuild, merges.

Its search behaviour is covered by test_search.py / test_search_web.py, which run on both
backends; these tests run with SEARCH_BACKEND=postgres on the PostgreSQL database only.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from whoosh.query import And, Or, Prefix, Term

from app.extensions import db
from app.models import Identity, Message, SearchQueueItem
from app.search.phrase import FastPhrase
from app.search.pg import schema
from app.search.pg.search import to_tsquery_text
from app.search.pg.writer import rebuild
from app.search.query import search_customers, search_messages
from tests.factories import make_agent, make_customer, make_ticket
from tests.search_backends import app, search_backend  # noqa: F401

pytestmark = pytest.mark.postgres_search_only


def rows(table: str) -> int:
    return db.session.scalar(text(f"SELECT count(*) FROM {table}"))


def found(agent, query: str) -> set[int]:
    return {hit.ticket.id for hit in search_messages(agent, query).hits}


def test_a_committed_message_is_searchable_at_once_without_a_queue(app):
    supervisor = make_agent("supervisor")
    ticket, _ = make_ticket("定期便の お届け日を 来週木曜に ずらせますか", subject="お届け日の変更")
    assert found(supervisor, "木曜") == {ticket.id}  # no drain, no worker turn
    assert db.session.scalar(select(func.count(SearchQueueItem.id))) == 0


def test_a_rolled_back_message_leaves_no_row(app):
    supervisor = make_agent("supervisor")
    ticket, _ = make_ticket("最初の問い合わせ")
    before = rows(schema.MESSAGES)
    db.session.add(Message(ticket_id=ticket.id, customer_id=ticket.customer_id, channel="email",
                           direction="in", body_text="取り消される下書きの文面 ほうれん草"))
    db.session.flush()
    db.session.rollback()
    db.session.commit()  # a later commit must not write what the rollback dropped
    assert rows(schema.MESSAGES) == before
    assert found(supervisor, "ほうれん草") == set()


def test_edits_to_messages_customers_and_identities_follow_in_the_same_commit(app):
    supervisor = make_agent("supervisor")
    ticket, message = make_ticket("旧い本文です")
    message.body_text = "差し替えた本文 lavender soap"
    customer = make_customer("小林 美咲", email="misaki.k@example.net")
    db.session.add(Identity(customer_id=customer.id, kind="phone", value="+819087654321"))
    db.session.commit()
    assert found(supervisor, "lavender") == {ticket.id} and found(supervisor, "旧い") == set()
    assert [h.customer.id for h in search_customers(supervisor, "090-8765-4321")[0]] == [customer.id]
    ticket.subject = "件名を変えました"  # the ticket subject is part of its messages' subject field
    db.session.commit()
    assert found(supervisor, "件名") == {ticket.id}


def test_a_merge_through_the_service_drops_the_source_and_grows_the_target(app):
    from app.customers.services import merge_customers

    supervisor = make_agent("supervisor")
    source = make_customer("中村 蒼", email="aoi.old@example.org")
    target = make_customer("中村 蒼", email="aoi@example.org")
    merge_customers(supervisor, source.id, target.id)
    hits, _ = search_customers(supervisor, "aoi.old@example.org")
    assert [h.customer.id for h in hits] == [target.id]  # the moved identity, on the survivor
    assert db.session.scalar(text(f"SELECT count(*) FROM {schema.CUSTOMERS} WHERE customer_id = :i"),
                             {"i": source.id}) == 0


def test_rebuild_rewrites_what_the_hook_wrote(app):
    supervisor = make_agent("supervisor")
    ticket, _ = make_ticket("Could you pause my subscription for two months?", subject="Pause")
    make_customer("Émile Durand", email="emile@example.fr")
    before = db.session.execute(text(f"SELECT message_id, terms::text FROM {schema.MESSAGES} ORDER BY 1")).all()
    db.session.execute(text(f"DELETE FROM {schema.MESSAGES}"))
    db.session.commit()
    assert found(supervisor, "pausing") == set()
    assert rebuild() == rows(schema.MESSAGES) + rows(schema.CUSTOMERS)
    after = db.session.execute(text(f"SELECT message_id, terms::text FROM {schema.MESSAGES} ORDER BY 1")).all()
    assert after == before
    assert found(supervisor, "pausing") == {ticket.id}  # stemmed: pause


def test_the_whoosh_query_tree_becomes_one_tsquery():
    query = And([Or([FastPhrase("body", ["届い", "いて"]), Term("subject", "肌")]),
                 Or([Prefix("names", "yama"), Term("email", "a'b@example.jp"), Prefix("phone", "090")])])
    assert to_tsquery_text(query) == (
        "( ( '届い':B <-> 'いて':B ) | ( '肌':A ) ) & "
        "( ( 'yama':*A ) | ( 'e:a''b@example.jp' ) | ( 'p:090':* ) )")
