"""A LINE chat linked to the shop's customer (agent from the ticket, shop system through the API),
LINE identities in the merge suggestions, and profile pictures on the customer and the ticket."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, select

from app.auth.services import create_token
from app.customers.merge import duplicate_candidates, undo_merge
from app.extensions import db
from app.models import Customer, Event, Identity, Message, Order, Team, Ticket
from tests.factories import make_agent, make_customer
from tests.lineserver import line_app, lineserver, post_delivery, user_id  # noqa: F401


def _member(name: str, member_id: str, kana: str = "", order: str | None = None) -> Customer:
    customer = make_customer(name)
    customer.external_id, customer.name_kana = member_id, kana
    if order:
        db.session.add(Order(external_id=order, customer_id=customer.id, total=3980,
                             ordered_at=datetime(2026, 11, 2, 3, 0, tzinfo=timezone.utc)))
    db.session.commit()
    return customer


def _chat(lineserver, client, name: str, text: str) -> tuple[Ticket, str]:
    uid = lineserver.add_user(name)
    assert post_delivery(client, lineserver.delivery(lineserver.text(uid, text))).status_code == 200
    db.session.expire_all()
    ticket = db.session.scalar(select(Ticket).join(Message).where(Message.meta["line_user_id"].as_string() == uid))
    return ticket, uid


def _shop_headers() -> dict[str, str]:
    owner = make_agent("admin", name="連携 管理")
    return {"Authorization": "Bearer " + create_token(owner, scopes=["commerce:write"], integration="shop-sync")}


# --- the agent links from the ticket -------------------------------------------------------------

def test_agent_finds_the_member_confirms_and_the_timeline_becomes_one(line_app, lineserver, client, agent, login_as):
    member = _member("小林 由美", "M-20931", kana="コバヤシユミ", order="A-558120")
    ticket, uid = _chat(lineserver, client, "ゆみ🌷", "先週の注文がまだ届きません")
    line_customer = ticket.customer_id
    login_as(agent)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "data-line-link" in page and "member_id" in page
    preview = client.get(f"/tickets/{ticket.id}/line/link?member_id=M-20931&order_number=")
    assert preview.status_code == 200
    body = preview.get_data(as_text=True)
    assert f'data-line-link-target="{member.id}"' in body and "小林 由美" in body and "csrf_token" in body
    assert db.session.get(Customer, line_customer).merged_into_id is None  # a preview changes nothing
    response = client.post(f"/tickets/{ticket.id}/line/link", data={"via": "member_id", "key": "M-20931"})
    assert response.status_code == 302
    db.session.expire_all()
    identity = db.session.scalar(select(Identity).where(Identity.kind == "line", Identity.value == uid))
    assert identity.customer_id == member.id
    assert db.session.get(Ticket, ticket.id).customer_id == member.id
    assert db.session.get(Customer, line_customer).merged_into_id == member.id
    linked = db.session.scalar(select(Event).where(Event.kind == "line.linked"))
    assert linked.customer_id == member.id and linked.data["source"] == "agent" and linked.actor_id == agent.id
    page = client.get(f"/customers/{member.id}").get_data(as_text=True)
    assert "先週の注文がまだ届きません" in page
    assert "M-20931" in client.get(f"/tickets/{ticket.id}").get_data(as_text=True)  # now shown as linked


def test_agent_links_by_order_number_and_the_merge_can_be_undone(line_app, lineserver, client, agent, supervisor,
                                                                 login_as):
    member = _member("長谷川 誠", "M-7", order="ORD-300451")
    ticket, uid = _chat(lineserver, client, "まこと", "返品の方法を教えてください")
    line_customer = ticket.customer_id
    login_as(agent)
    assert "長谷川 誠" in client.get(f"/tickets/{ticket.id}/line/link?order_number=ORD-300451").get_data(as_text=True)
    client.post(f"/tickets/{ticket.id}/line/link", data={"via": "order_number", "key": "ORD-300451"})
    merged = db.session.scalar(select(Event).where(Event.kind == "customer.merged"))
    undo_merge(supervisor, merged.id, member.id)
    db.session.expire_all()
    assert db.session.get(Identity, db.session.scalar(select(Identity.id).where(Identity.value == uid))).customer_id \
        == line_customer


def test_unknown_member_or_order_is_said_and_nothing_changes(line_app, lineserver, client, agent, login_as):
    ticket, uid = _chat(lineserver, client, "なな", "ポイントについて")
    login_as(agent)
    response = client.get(f"/tickets/{ticket.id}/line/link?member_id=NOPE-1", follow_redirects=True)
    assert "NOPE-1" in response.get_data(as_text=True)
    response = client.post(f"/tickets/{ticket.id}/line/link", data={"via": "order_number", "key": "Z-404"},
                           follow_redirects=True)
    assert "Z-404" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Event).where(Event.kind == "line.linked")) == 0


def test_link_needs_the_ticket_a_line_chat_and_a_csrf_token(line_app, lineserver, client, login_as):
    _member("森田 恵", "M-55")
    ticket, uid = _chat(lineserver, client, "めぐ", "配送日の変更")
    ticket.team_id = db.session.scalar(select(Team.id)) or _team("配送チーム")
    db.session.commit()
    outsider = make_agent("agent", name="別チーム 太郎")
    outsider.team_id = _team("経理チーム")
    db.session.commit()
    login_as(outsider)
    assert client.get(f"/tickets/{ticket.id}/line/link?member_id=M-55").status_code == 404
    assert client.post(f"/tickets/{ticket.id}/line/link", data={"via": "member_id", "key": "M-55"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).customer.external_id is None
    client.post("/logout")
    insider = make_agent("agent", name="配送 花子")
    insider.team_id = ticket.team_id
    db.session.commit()
    login_as(insider)
    line_app.config["WTF_CSRF_ENABLED"] = True
    assert client.post(f"/tickets/{ticket.id}/line/link", data={"via": "member_id", "key": "M-55"}).status_code == 400


def _team(name: str) -> int:
    team = Team(name=name)
    db.session.add(team)
    db.session.commit()
    return team.id


# --- the shop's system links through the API ----------------------------------------------------

def test_api_links_a_user_never_seen_then_answers_unchanged(line_app, client):
    member = _member("吉田 真央", "M-1001")
    headers, uid = _shop_headers(), user_id(901)
    first = client.post("/api/v1/line/links", json={"line_user_id": uid, "member_id": "M-1001"}, headers=headers)
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["status"] == "linked" and first.get_json()["customer_id"] == member.id
    again = client.post("/api/v1/line/links", json={"line_user_id": uid, "member_id": "M-1001"}, headers=headers)
    assert again.status_code == 200 and again.get_json()["status"] == "unchanged"
    assert db.session.scalar(select(func.count()).select_from(Identity).where(Identity.value == uid)) == 1
    assert db.session.scalar(select(func.count()).select_from(Event).where(Event.kind == "line.linked")) == 1


def test_api_merges_a_chatting_line_customer_by_order_number(line_app, lineserver, client):
    member = _member("石田 翔", "M-2002", order="B-77001")
    ticket, uid = _chat(lineserver, client, "しょう", "請求書を再発行してほしい")
    line_customer = ticket.customer_id
    response = client.post("/api/v1/line/links", json={"line_user_id": uid, "order_number": "B-77001"},
                           headers=_shop_headers())
    assert response.status_code == 200 and response.get_json()["status"] == "merged"
    assert response.get_json()["merged_from"] == line_customer
    db.session.expire_all()
    assert db.session.get(Ticket, ticket.id).customer_id == member.id


def test_api_errors_are_clear(line_app, lineserver, client, agent):
    _member("上田 律", "M-3003")
    other = _member("上田 律子", "M-3004")
    headers, uid = _shop_headers(), user_id(902)
    post = lambda body, h=headers: client.post("/api/v1/line/links", json=body, headers=h)  # noqa: E731
    unknown = post({"line_user_id": uid, "member_id": "M-0000"})
    assert unknown.status_code == 404 and unknown.get_json()["error"] == "unknown_member"
    assert post({"line_user_id": uid, "order_number": "NONE-9"}).get_json()["error"] == "unknown_order"
    assert post({"line_user_id": "not-a-line-id", "member_id": "M-3003"}).status_code == 422
    assert post({"line_user_id": uid}).status_code == 422
    assert post({"line_user_id": uid, "member_id": "M-3003", "order_number": "X"}).status_code == 422
    assert client.post("/api/v1/line/links", data="[]", headers={**headers, "Content-Type": "application/json"}
                       ).status_code == 400
    assert post({"line_user_id": uid, "member_id": "M-3004"}).status_code == 201
    conflict = post({"line_user_id": uid, "member_id": "M-3003"})
    assert conflict.status_code == 409 and conflict.get_json()["error"] == "identity_conflict"
    assert f"#{other.id}" in conflict.get_json()["message"]
    person = {"Authorization": f"Bearer {create_token(agent)}"}
    assert post({"line_user_id": uid, "member_id": "M-3003"}, person).status_code == 403


# --- merge suggestions ---------------------------------------------------------------------------

def _reasons(customer: Customer) -> dict[int, list[str]]:
    return {c.customer.id: c.reasons for c in duplicate_candidates(customer)}


def test_line_profile_name_matching_a_customers_kana_is_suggested_both_ways(line_app, lineserver, client):
    member = _member("渡辺 さくら", "M-4004", kana="ワタナベ サクラ")
    ticket, uid = _chat(lineserver, client, "わたなべ さくら", "定期便を一回休みたい")
    line_customer = db.session.get(Customer, ticket.customer_id)
    assert "line_name" in _reasons(line_customer)[member.id]
    assert "line_name" in _reasons(member)[line_customer.id]


def test_an_order_number_or_phone_written_on_line_suggests_its_customer(line_app, lineserver, client, supervisor,
                                                                         login_as):
    with_order = _member("今井 陸", "M-5005", order="C-240518")
    with_phone = make_customer("藤原 杏")
    db.session.add(Identity(customer_id=with_phone.id, kind="phone", value="+819012345678", display="090-1234-5678"))
    db.session.commit()
    ticket, uid = _chat(lineserver, client, "🐱", "注文番号 Ｃ－２４０５１８ の件です。電話は０９０－１２３４－５６７８です")
    reasons = _reasons(db.session.get(Customer, ticket.customer_id))
    assert "line_order" in reasons[with_order.id] and "line_phone" in reasons[with_phone.id]
    login_as(supervisor)
    page = client.get(f"/customers/{ticket.customer_id}").get_data(as_text=True)
    assert "order number written on LINE" in page or "LINEに書かれた注文番号" in page


# --- profile pictures ----------------------------------------------------------------------------

def test_profile_picture_is_fetched_on_first_view_stored_small_and_shown(line_app, lineserver, client, agent,
                                                                           login_as):
    ticket, uid = _chat(lineserver, client, "青木 陽菜", "サイズ交換できますか")
    identity = db.session.scalar(select(Identity).where(Identity.value == uid))
    assert identity.picture_url == lineserver.profiles[uid]["pictureUrl"]
    assert identity.picture is None and not lineserver.requests_to("GET", "^/picture/")  # the webhook did not wait
    url = f"/line/identities/{identity.id}/picture"
    assert client.get(url).status_code in (302, 401)  # agents only
    login_as(agent)
    for page in (f"/tickets/{ticket.id}", f"/customers/{ticket.customer_id}"):
        assert url in client.get(page).get_data(as_text=True)
    picture = client.get(url)
    assert picture.status_code == 200 and picture.mimetype == "image/jpeg" and picture.data.startswith(b"\xff\xd8\xff")
    assert picture.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(url).data == picture.data and len(lineserver.requests_to("GET", "^/picture/")) == 1
    db.session.expire_all()
    assert db.session.get(Identity, identity.id).picture_type == "image/jpeg"


def test_a_missing_or_oversized_picture_falls_back_to_the_initial(line_app, lineserver, client, agent, login_as):
    line_app.config["LINE_PICTURE_MAX_BYTES"] = 50
    ticket, uid = _chat(lineserver, client, "杉本 蒼", "ギフト包装はできますか")
    identity = db.session.scalar(select(Identity).where(Identity.value == uid))
    login_as(agent)
    assert client.get(f"/line/identities/{identity.id}/picture").status_code == 404
    db.session.expire_all()
    assert db.session.get(Identity, identity.id).picture_type == ""  # tried once, remembered
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "avatar-fallback" in page and "/picture" not in page
    uid2 = lineserver.add_user("写真なし", picture=False)
    post_delivery(client, lineserver.delivery(lineserver.text(uid2, "こんにちは")))
    assert db.session.scalar(select(Identity).where(Identity.value == uid2)).picture_url is None


def test_a_new_picture_url_replaces_the_copy(line_app, lineserver, client, agent, login_as):
    ticket, uid = _chat(lineserver, client, "原 樹", "こんにちは")
    identity_id = db.session.scalar(select(Identity.id).where(Identity.value == uid))
    login_as(agent)
    first = client.get(f"/line/identities/{identity_id}/picture").data
    from app.channels.line.pictures import note_pictures
    from tests.lineserver import png

    lineserver.pictures[uid] = png((250, 250, 0), (80, 80))
    note_pictures({uid: lineserver.profiles[uid]["pictureUrl"] + "?v=2"})
    second = client.get(f"/line/identities/{identity_id}/picture").data
    assert second != first and second.startswith(b"\xff\xd8\xff")


def test_pictures_can_be_switched_off(line_app, lineserver, client, agent, login_as):
    line_app.config["LINE_FETCH_PICTURES"] = False
    ticket, uid = _chat(lineserver, client, "北村 湊", "支払い方法を変えたい")
    identity = db.session.scalar(select(Identity).where(Identity.value == uid))
    login_as(agent)
    assert "avatar-fallback" in client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert client.get(f"/line/identities/{identity.id}/picture").status_code == 404
    assert not lineserver.requests_to("GET", "^/picture/")
