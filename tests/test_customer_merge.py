"""Customer merge: duplicate suggestions, side-by-side comparison, supervisors only, and undo."""
from __future__ import annotations

from sqlalchemy import func, select

from app.customers.merge import duplicate_candidates, undo_merge, undoable_merges
from app.customers.services import MergeRefused, merge_customers
from app.extensions import db
from app.models import Customer, Event, Identity, Message, Ticket
from tests.factories import make_customer, make_ticket

import pytest


def _with_ticket(name: str, address: str, text: str):
    ticket, _ = make_ticket(text, channel="email", sender=address, name=name)
    customer = db.session.get(Customer, ticket.customer_id)
    customer.name = name
    db.session.commit()
    return customer, ticket


def test_suggests_same_name_kana_and_email_name_not_strangers(app):
    me = make_customer("渡辺　さくら", email="sakura.watanabe@docomo.example")
    same_spacing = make_customer("渡辺さくら", email="sw1988@gmail.example")
    same_local = make_customer("", email="sakura.watanabe@icloud.example")
    kana_only = make_customer("わたなべ", email="w-s@mail.example")
    me.name_kana, kana_only.name_kana = "ワタナベ サクラ", "ワタナベサクラ"
    stranger = make_customer("渡辺 さくらこ", email="sakurako@ezweb.example")
    on_x = make_customer("", email="unrelated@x.example")
    db.session.add(Identity(customer_id=on_x.id, kind="x", value="4455667788", display="@sakura_w",
                            name="渡辺 さくら"))
    gone = make_customer("渡辺 さくら", email="old-sakura@ocn.example")
    gone.merged_into_id = same_spacing.id
    db.session.commit()
    found = {c.customer.id: c.reasons for c in duplicate_candidates(me, limit=10)}
    assert found.get(same_spacing.id) == ["name"]
    assert found.get(same_local.id) == ["email_name"]
    assert found.get(kana_only.id) == ["kana"]
    assert found.get(on_x.id) == ["identity_name"]
    assert stranger.id not in found and gone.id not in found and me.id not in found


def test_merge_then_undo_restores_both_customers(app, supervisor):
    source, s_ticket = _with_ticket("石井 陽菜", "hina.old@example.jp", "定期便を止めたいです")
    target, t_ticket = _with_ticket("石井 陽菜", "hina.new@example.jp", "請求書を再発行してください")
    source.external_id, source.note, target.note = "shop-7781", "電話が好き", ""
    target.name_kana = ""
    source.name_kana = "イシイ ヒナ"
    earlier = make_customer("いしい", email="hina.earliest@example.jp")
    db.session.commit()
    merge_customers(supervisor, earlier.id, source.id)  # an older tombstone of the source
    merge_customers(supervisor, source.id, target.id)
    target = db.session.get(Customer, target.id)
    assert target.external_id == "shop-7781" and target.name_kana == "イシイ ヒナ"
    [event] = undoable_merges(target)
    # A reply arriving after the merge stays with the survivor after the undo.
    late, _ = make_ticket("追加の質問です", channel="email", sender="hina.new@example.jp", subject="追加")
    source_id, target_id = undo_merge(supervisor, event.id, target.id)
    source, target = db.session.get(Customer, source_id), db.session.get(Customer, target_id)
    assert source.merged_into_id is None and source.external_id == "shop-7781"
    assert target.external_id is None and target.name_kana == "" and target.note == ""
    assert {i.value for i in source.identities} == {"hina.old@example.jp", "hina.earliest@example.jp"}
    assert {i.value for i in target.identities} == {"hina.new@example.jp"}
    assert db.session.get(Ticket, s_ticket.id).customer_id == source.id
    assert db.session.get(Ticket, late.id).customer_id == target.id
    assert db.session.scalar(select(func.count()).select_from(Message).where(Message.customer_id == source.id)) == 1
    assert db.session.get(Customer, earlier.id).merged_into_id == source.id
    assert undoable_merges(target) == []
    with pytest.raises(MergeRefused):
        undo_merge(supervisor, event.id, target.id)
    assert db.session.scalar(select(func.count()).select_from(Event)
                             .where(Event.kind == "customer.unmerged")) == 2
    # New mail from the restored address finds the restored customer again.
    again, _ = make_ticket("またよろしく", channel="email", sender="hina.old@example.jp", subject="別件")
    assert again.customer_id == source.id


def test_undo_refused_after_a_further_merge(app, supervisor):
    a = make_customer("青木 蒼", email="aoi.a@example.jp")
    b = make_customer("青木 蒼", email="aoi.b@example.jp")
    c = make_customer("青木 あおい", email="aoi.c@example.jp")
    merge_customers(supervisor, a.id, b.id)
    [event] = undoable_merges(db.session.get(Customer, b.id))
    merge_customers(supervisor, b.id, c.id)
    with pytest.raises(MergeRefused):
        undo_merge(supervisor, event.id)


def test_pages_compare_side_by_side_merge_and_undo(client, login_as, supervisor):
    source, _ = _with_ticket("岡田 湊", "minato@example.jp", "解約の相談です")
    target, _ = _with_ticket("岡田 湊", "minato.okada@example.jp", "ポイントについて")
    login_as(supervisor)
    page = client.get(f"/customers/{source.id}").get_data(as_text=True)
    assert "merge-candidates" in page and f"/customers/{source.id}/merge?target_id={target.id}" in page
    preview = client.get(f"/customers/{source.id}/merge?target_id={target.id}").get_data(as_text=True)
    assert "minato@example.jp" in preview and "minato.okada@example.jp" in preview
    assert 'id="merge-side-1"' in preview and 'id="merge-side-2"' in preview
    assert db.session.get(Customer, source.id).merged_into_id is None  # looking changes nothing
    response = client.post(f"/customers/{source.id}/merge", data={"target_id": str(target.id)})
    assert response.headers["Location"].endswith(f"/customers/{target.id}")
    page = client.get(f"/customers/{target.id}").get_data(as_text=True)
    assert "merge-undo" in page
    event_id = undoable_merges(db.session.get(Customer, target.id))[0].id
    response = client.post(f"/customers/{target.id}/merge/undo", data={"event_id": str(event_id)})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Customer, source.id).merged_into_id is None
    assert client.get(f"/customers/{source.id}").status_code == 200


def test_agents_cannot_merge_compare_or_undo(client, login_as, agent, supervisor):
    one = make_customer("村上 結衣", email="yui1@example.jp")
    two = make_customer("村上 結衣", email="yui2@example.jp")
    login_as(agent)
    page = client.get(f"/customers/{one.id}").get_data(as_text=True)
    assert "merge-panel" not in page and "merge-candidates" not in page
    assert client.get(f"/customers/{one.id}/merge?target_id={two.id}").status_code == 403
    assert client.post(f"/customers/{one.id}/merge", data={"target_id": str(two.id)}).status_code == 403
    assert db.session.get(Customer, one.id).merged_into_id is None
    merge_customers(supervisor, one.id, two.id)
    event = undoable_merges(db.session.get(Customer, two.id))[0]
    assert client.post(f"/customers/{two.id}/merge/undo", data={"event_id": str(event.id)}).status_code == 403
    assert db.session.get(Customer, one.id).merged_into_id == two.id
