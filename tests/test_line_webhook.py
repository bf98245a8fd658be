"""POST /hooks/line: signature first, then every event type on the one ingest path."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from app.extensions import db
from app.models import Attachment, Event, Identity, Message, RawSource, Ticket
from tests.lineserver import SECRET, line_app, lineserver, post_delivery, sign  # noqa: F401


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _messages() -> list[Message]:
    db.session.expire_all()
    return list(db.session.scalars(select(Message).order_by(Message.id)))


def test_text_is_stored_with_profile_name_identity_and_reply_token(line_app, lineserver, client):
    uid = lineserver.add_user("佐藤 美咲")
    event = lineserver.text(uid, "お届け日を来週に変えられますか？")
    response = post_delivery(client, lineserver.delivery(event))
    assert response.status_code == 200 and response.json["results"] == {"created": 1}, response.data
    [message] = _messages()
    assert message.channel == "line" and message.external_id == event["webhookEventId"]
    assert message.body_text == "お届け日を来週に変えられますか？" and message.sender == "佐藤 美咲"
    assert message.meta["reply_token"] == event["replyToken"] and message.meta["reply_token_expires_at"]
    identity = db.session.scalar(select(Identity).where(Identity.kind == "line"))
    assert identity.value == uid and identity.name == "佐藤 美咲" and identity.customer_id == message.customer_id
    assert json.loads(message.raw.content)["event"]["webhookEventId"] == event["webhookEventId"]
    assert message.ticket.channel == "line"


def test_wrong_or_missing_signature_is_401_and_nothing_is_stored(line_app, lineserver, client):
    uid = lineserver.add_user("偽物")
    body = lineserver.delivery(lineserver.text(uid, "なりすまし"))
    assert post_delivery(client, body, secret="another-channels-secret").status_code == 401
    assert post_delivery(client, body, signature="").status_code == 401
    tampered = body.replace("なりすまし".encode(), "書き換え".encode())
    assert post_delivery(client, tampered, signature=sign(body)).status_code == 401
    assert _count(Message) == 0 and _count(RawSource) == 0 and not lineserver.requests_to("GET", "/profile/")


def test_malformed_json_with_a_valid_signature_is_400(line_app, client):
    assert post_delivery(client, b'{"destination": "U1", "events": [').status_code == 400
    assert post_delivery(client, b'["not", "an", "object"]').status_code == 400
    assert _count(Message) == 0


def test_redelivery_and_retries_are_stored_once(line_app, lineserver, client):
    uid = lineserver.add_user("高橋 健")
    event = lineserver.text(uid, "解約したいです")
    redelivered = {**event, "deliveryContext": {"isRedelivery": True}}
    redelivered.pop("replyToken")
    assert post_delivery(client, lineserver.delivery(event)).json["results"] == {"created": 1}
    assert post_delivery(client, lineserver.delivery(event)).json["results"] == {"duplicate": 1}
    assert post_delivery(client, lineserver.delivery(redelivered)).json["results"] == {"duplicate": 1}
    assert len(_messages()) == 1


def test_a_users_messages_thread_into_one_ticket(line_app, lineserver, client):
    uid = lineserver.add_user("伊藤 陽子")
    post_delivery(client, lineserver.delivery(lineserver.text(uid, "注文した化粧水が届きません"),
                                              lineserver.text(uid, "注文番号は A-5521 です")))
    assert _count(Ticket) == 1 and len(_messages()) == 2


def test_sticker_and_location_are_readable_not_lost(line_app, lineserver, client):
    uid = lineserver.add_user("渡辺 翔")
    sticker = lineserver.event(uid, message={"type": "sticker", "packageId": "446", "stickerId": "1988",
                                              "stickerResourceType": "STATIC", "keywords": ["Thanks", "OK"]})
    plain = lineserver.event(uid, message={"type": "sticker", "packageId": "11537", "stickerId": "52002734",
                                            "stickerResourceType": "ANIMATION"})
    place = lineserver.event(uid, message={"type": "location", "title": "自宅", "address": "大阪府大阪市北区梅田1-1",
                                            "latitude": 34.7025, "longitude": 135.4959})
    post_delivery(client, lineserver.delivery(sticker, plain, place))
    first, second, third = _messages()
    assert "Thanks, OK" in first.body_text and first.body_text.startswith("[")
    assert first.meta["sticker"]["stickerId"] == "1988"
    assert "11537/52002734" in second.body_text
    assert "大阪府大阪市北区梅田1-1" in third.body_text and "34.7025,135.4959" in third.body_text


def test_image_and_file_are_fetched_into_attachments_within_the_size_limit(line_app, lineserver, client):
    line_app.config["MAX_ATTACHMENT_BYTES"] = 1000
    uid = lineserver.add_user("中村 優")
    photo = lineserver.content_event(uid, "image", b"\xff\xd8\xff" + b"p" * 300, "image/jpeg")
    pdf = lineserver.content_event(uid, "file", b"%PDF-" + b"x" * 5000, "application/pdf",
                                   fileName="請求書.pdf", fileSize=5005)
    assert post_delivery(client, lineserver.delivery(photo, pdf)).json["results"] == {"created": 2}
    attachments = {a.filename: a for a in db.session.scalars(select(Attachment))}
    image = attachments[f"line-{photo['message']['id']}.jpg"]
    assert image.content_type == "image/jpeg" and image.data.startswith(b"\xff\xd8") and not image.oversize
    assert attachments["請求書.pdf"].oversize and attachments["請求書.pdf"].data is None
    assert attachments["請求書.pdf"].size == 5005


def test_content_that_cannot_be_fetched_is_stored_with_the_reason(line_app, lineserver, client):
    uid = lineserver.add_user("小林 亮")
    gone = lineserver.event(uid, message={"type": "image", "contentProvider": {"type": "line"}})
    post_delivery(client, lineserver.delivery(gone))
    [message] = _messages()
    assert "content not fetched" in message.parse_error and message.attachments == []


def test_unknown_event_types_are_stored_as_a_visible_note(line_app, lineserver, client):
    uid = lineserver.add_user("加藤 碧")
    odd = lineserver.event(uid, "beacon", beacon={"hwid": "d41d8cd98f", "type": "enter"})
    post_delivery(client, lineserver.delivery(odd))
    [message] = _messages()
    assert "beacon" in message.body_text and "unsupported LINE event" in message.parse_error


def test_unfollow_marks_the_customer_blocked_and_follow_clears_it(line_app, lineserver, client):
    uid = lineserver.add_user("吉田 舞")
    post_delivery(client, lineserver.delivery(lineserver.text(uid, "こんにちは")))
    unfollow = lineserver.event(uid, "unfollow")
    post_delivery(client, lineserver.delivery(unfollow))
    post_delivery(client, lineserver.delivery(unfollow))  # retried delivery
    identity = db.session.scalar(select(Identity).where(Identity.value == uid))
    assert identity.bouncing is True
    assert [e.kind for e in db.session.scalars(select(Event).where(Event.kind.like("line.%")))] == ["line.unfollow"]
    post_delivery(client, lineserver.delivery(lineserver.event(uid, "follow")))
    db.session.expire_all()
    assert identity.bouncing is False and len(_messages()) == 1


def test_a_first_follow_creates_the_customer_with_the_profile_name(line_app, lineserver, client):
    uid = lineserver.add_user("新規 友だち")
    post_delivery(client, lineserver.delivery(lineserver.event(uid, "follow")))
    identity = db.session.scalar(select(Identity).where(Identity.value == uid))
    assert identity.name == "新規 友だち" and _count(Message) == 0


def test_cancellation_intent_runs_on_line_text(line_app, lineserver, client):
    uid = lineserver.add_user("松本 千尋")
    post_delivery(client, lineserver.delivery(lineserver.text(uid, "定期便を解約したいのですが、手続きを教えてください")))
    ticket = db.session.scalar(select(Ticket))
    kinds = {e.kind for e in db.session.scalars(select(Event).where(Event.ticket_id == ticket.id))}
    assert "retention.flagged" in kinds, kinds
