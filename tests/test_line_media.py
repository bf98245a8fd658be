"""Agents' images go out on LINE as image messages whose signed URLs LINE fetches, without login,
for days; tampered, expired or foreign tokens get nothing."""
from __future__ import annotations

import io
import os
import time
from urllib.parse import urlsplit

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from PIL import Image
from sqlalchemy import select

from app.channels.line import media
from app.extensions import db
from app.models import Attachment, Message, OutboxItem, Ticket
from app.outbox.service import deliver_due
from app.tickets.services import ActionRefused, add_reply
from tests.factories import make_ticket
from tests.lineserver import line_app, lineserver, png, post_delivery  # noqa: F401

BASE = "https://support.shop.test"


@pytest.fixture
def media_app(line_app):
    line_app.config["PUBLIC_BASE_URL"] = BASE
    return line_app


def _chat(lineserver, client, name: str, text: str, **kw) -> tuple[Ticket, str]:
    uid = lineserver.add_user(name)
    post_delivery(client, lineserver.delivery(lineserver.text(uid, text, **kw)))
    db.session.expire_all()
    return db.session.scalar(select(Ticket).order_by(Ticket.id.desc())), uid


def _path(url: str) -> str:
    assert url.startswith(BASE + "/line/media/"), url
    return urlsplit(url).path


def _jpeg(size=(64, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (240, 90, 10)).save(out, "JPEG")
    return out.getvalue()


def test_a_reply_carries_the_text_then_image_messages_fetchable_without_login(media_app, lineserver, client, agent):
    ticket, uid = _chat(lineserver, client, "西村 結衣", "箱が潰れて届きました")
    label, photo = png((10, 20, 200)), _jpeg()
    add_reply(agent, ticket, "交換品の発送ラベルと梱包例です。", confirmed=True,
              images=[("label.png", "image/png", label), ("梱包例.jpg", "image/jpeg", photo)])
    assert deliver_due() == {"sent": 1}
    [sent] = lineserver.delivered
    assert sent.mode == "reply" and sent.texts == ["交換品の発送ラベルと梱包例です。"] and len(sent.images) == 2
    [request] = lineserver.requests_to("POST", "/reply$")
    assert [m["type"] for m in request.body["messages"]] == ["text", "image", "image"]
    for (original, preview), data, ctype in zip(sent.images, (label, photo), ("image/png", "image/jpeg")):
        response = client.get(_path(original))  # the test client has no session: LINE's view
        assert response.status_code == 200 and response.data == data and response.mimetype == ctype
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        small = client.get(_path(preview))
        assert small.status_code == 200 and small.data == data  # small images are their own preview
    assert len({urlsplit(o).path for o, _p in sent.images}) == 2


def test_a_push_carries_the_images_with_its_retry_key(media_app, lineserver, client, agent):
    ticket, uid = _chat(lineserver, client, "菅原 湊", "昨日の件、写真を送ってもらえますか", age=300)
    add_reply(agent, ticket, "こちらが該当の商品写真です。", confirmed=True,
              images=[("item.png", "image/png", png((90, 90, 90)))])
    lineserver.script("POST", "/push$", 503)
    deliver_due()
    db.session.get(OutboxItem, db.session.scalar(select(OutboxItem.id))).next_attempt_at = \
        db.session.scalar(select(OutboxItem.created_at))
    db.session.commit()
    assert deliver_due() == {"sent": 1}
    [sent] = lineserver.delivered
    assert sent.mode == "push" and sent.retry_key and len(sent.images) == 1
    first, second = lineserver.requests_to("POST", "/push$")
    assert first.headers["x-line-retry-key"] == second.headers["x-line-retry-key"]
    assert client.get(_path(sent.images[0][0])).status_code == 200


def test_a_large_photo_gets_a_small_jpeg_preview(media_app, lineserver, client, agent):
    ticket, uid = _chat(lineserver, client, "丸山 千尋", "傷の状態を見てください")
    noisy = io.BytesIO()
    Image.frombytes("RGB", (760, 760), os.urandom(760 * 760 * 3)).save(noisy, "PNG")
    big = noisy.getvalue()
    assert len(big) > media.MAX_PREVIEW_BYTES
    add_reply(agent, ticket, "参考までに拡大写真をお送りします。", confirmed=True,
              images=[("zoom.png", "image/png", big)])
    deliver_due()
    [(original, preview)] = lineserver.delivered[0].images
    assert client.get(_path(original)).data == big
    small = client.get(_path(preview))
    assert small.status_code == 200 and small.mimetype == "image/jpeg"
    assert len(small.data) <= media.MAX_PREVIEW_BYTES and small.data.startswith(b"\xff\xd8\xff")


def test_tampered_expired_and_foreign_tokens_are_refused(media_app, lineserver, client, agent):
    ticket, uid = _chat(lineserver, client, "黒田 葵", "請求書の画像です")
    add_reply(agent, ticket, "領収書の見本です。", confirmed=True, images=[("r.png", "image/png", png())])
    deliver_due()
    original = _path(lineserver.delivered[0].images[0][0])
    token = original.rsplit("/", 1)[1]
    flipped = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    assert client.get(f"/line/media/{flipped}").status_code == 404
    assert client.get("/line/media/not-a-token").status_code == 404
    attachment_id = db.session.scalar(select(Attachment.id))

    class Ago(TimestampSigner):  # a token signed 15 days ago (the default validity is 14)
        def get_timestamp(self) -> int:
            return int(time.time()) - 15 * 86400

    old = URLSafeTimedSerializer(media_app.config["SECRET_KEY"], salt=media.SALT, signer=Ago).dumps({"a": attachment_id})
    assert client.get(f"/line/media/{old}").status_code == 404
    media_app.config["LINE_MEDIA_URL_DAYS"] = 30
    assert client.get(f"/line/media/{old}").status_code == 200
    other_key = URLSafeTimedSerializer("another-secret", salt=media.SALT).dumps({"a": attachment_id})
    assert client.get(f"/line/media/{other_key}").status_code == 404
    # a valid token for an attachment that is not an image we sent on LINE: an email's file
    email_ticket, _ = make_ticket("添付を確認してください", sender="kaede@example.jp", channel="api")
    email_message = db.session.scalar(select(Message).where(Message.ticket_id == email_ticket.id))
    db.session.add(Attachment(message_id=email_message.id, filename="x.png", content_type="image/png",
                              data=png(), size=len(png())))
    db.session.commit()
    foreign = db.session.scalar(select(Attachment.id).order_by(Attachment.id.desc()))
    assert client.get(f"/line/media/{media.token(media_app.config, foreign)}").status_code == 404


def test_an_image_the_customer_sent_is_not_public(media_app, lineserver, client):
    uid = lineserver.add_user("松井 悠")
    post_delivery(client, lineserver.delivery(lineserver.content_event(uid, "image", png(), "image/png")))
    attachment_id = db.session.scalar(select(Attachment.id))
    assert client.get(f"/line/media/{media.token(media_app.config, attachment_id)}").status_code == 404


def test_what_line_cannot_take_is_refused_before_queueing(media_app, lineserver, client, agent):
    ticket, uid = _chat(lineserver, client, "荒木 蓮", "説明書をください")
    with pytest.raises(ActionRefused) as refused:
        add_reply(agent, ticket, "説明書です", confirmed=True,
                  images=[("manual.pdf", "application/pdf", b"%PDF-1.7 fake")])
    assert "manual.pdf" in str(refused.value) and "JPEG and PNG" in str(refused.value)
    with pytest.raises(ActionRefused, match="JPEG and PNG"):  # says PNG, is not one
        add_reply(agent, ticket, "説明書です", confirmed=True, images=[("fake.png", "image/png", b"<svg/>")])
    with pytest.raises(ActionRefused, match="At most 4"):
        add_reply(agent, ticket, "写真です", confirmed=True,
                  images=[(f"p{n}.png", "image/png", png()) for n in range(5)])
    email_ticket, _ = make_ticket("写真を送ってください", sender="ren@example.jp", channel="email")
    with pytest.raises(ActionRefused, match="At most 0"):
        add_reply(agent, email_ticket, "写真です", confirmed=True, images=[("p.png", "image/png", png())])
    assert db.session.scalar(select(Message).where(Message.direction == "out")) is None


def test_the_composer_uploads_images_on_a_line_ticket(media_app, lineserver, client, agent, login_as):
    ticket, uid = _chat(lineserver, client, "平野 心", "色違いはありますか")
    login_as(agent)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and "data-line-images" in page
    response = client.post(f"/tickets/{ticket.id}/reply", content_type="multipart/form-data", data={
        "body": "ございます。色見本をお送りします。", "status_after": "pending", "confirm": "1",
        "images": [(io.BytesIO(png((200, 30, 30))), "red.png", "image/png"),
                   (io.BytesIO(png((30, 30, 200))), "blue.png", "image/png")]})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    message = db.session.scalar(select(Message).where(Message.direction == "out"))
    assert [a.filename for a in message.attachments] == ["red.png", "blue.png"]
    assert deliver_due() == {"sent": 1} and len(lineserver.delivered[0].images) == 2


def test_without_an_https_public_address_the_image_is_not_sent(line_app, lineserver, client, agent):
    line_app.config["PUBLIC_BASE_URL"] = "http://support.shop.test"
    ticket, uid = _chat(lineserver, client, "小野 湊", "写真ください")
    add_reply(agent, ticket, "こちらです", confirmed=True, images=[("p.png", "image/png", png())])
    assert deliver_due() == {"failed": 1}
    assert "PUBLIC_BASE_URL" in db.session.scalar(select(OutboxItem.last_error))
    assert not lineserver.delivered


def test_a_reply_that_asks_for_confirmation_says_to_attach_the_images_again(media_app, lineserver, client, agent,
                                                                            login_as):
    ticket, uid = _chat(lineserver, client, "宮本 楓", "このクリームで治りますか")
    login_as(agent)
    response = client.post(f"/tickets/{ticket.id}/reply", content_type="multipart/form-data", data={
        "body": "毎日塗れば治ります。", "status_after": "pending",
        "images": [(io.BytesIO(png()), "cream.png", "image/png")]})
    assert response.status_code == 409 and "data-line-images-again" in response.get_data(as_text=True)
    assert db.session.scalar(select(Message).where(Message.direction == "out")) is None
