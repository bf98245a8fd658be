"""Attachments, raw sources and email HTML: only for authorised agents, never executable."""
from __future__ import annotations

import pytest

from app.extensions import db
from tests.security_helpers import MARKER, build_world


@pytest.fixture
def world(app):
    w = build_world()
    w.ticket.team_id = w.own_team.id
    db.session.commit()
    return w


def test_svg_and_html_attachments_download_as_octet_stream(client, login_as, world):
    login_as(world.agent)
    for attachment in (world.svg, world.html):
        response = client.get(f"/attachments/{attachment.id}")
        assert response.status_code == 200
        assert response.mimetype == "application/octet-stream"
        assert response.headers["Content-Disposition"].startswith("attachment;")
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in response.headers["Content-Security-Policy"]
    svg = client.get(f"/attachments/{world.svg.id}").headers["Content-Disposition"]
    assert 'evil\\".svg' in svg or "evil%22.svg" in svg  # the quote is escaped
    html = client.get(f"/attachments/{world.html.id}").headers["Content-Disposition"]
    assert "\r" not in html and "\n" not in html and "filename*=UTF-8''" in html


def test_inline_serves_real_raster_images_only(client, login_as, world):
    login_as(world.agent)
    response = client.get(f"/attachments/{world.png.id}/inline")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(f"/attachments/{world.svg.id}/inline").status_code == 404
    assert client.get(f"/attachments/{world.html.id}/inline").status_code == 404
    world.png.data = b"<svg onload=alert(1)>"  # claims PNG, is not
    db.session.commit()
    assert client.get(f"/attachments/{world.png.id}/inline").status_code == 404


def test_oversize_attachment_points_to_the_raw_download(client, login_as, world):
    login_as(world.agent)
    response = client.get(f"/attachments/{world.oversize.id}")
    assert response.status_code == 404
    assert f"/messages/{world.message.id}/raw" in response.get_data(as_text=True)
    raw = client.get(f"/messages/{world.message.id}/raw")
    assert raw.status_code == 200 and MARKER.encode() in raw.data
    assert raw.headers["Content-Disposition"].startswith("attachment;")
    assert f"message-{world.message.id}.eml" in raw.headers["Content-Disposition"]


def test_email_html_is_a_sandboxed_document_without_remote_images(client, login_as, world):
    login_as(world.agent)
    response = client.get(f"/messages/{world.message.id}/html")
    body = response.get_data(as_text=True)
    csp = response.headers["Content-Security-Policy"]
    assert response.status_code == 200 and MARKER in body
    assert "default-src 'none'" in csp and "sandbox" in csp and "script-src" not in csp
    assert "img-src data:;" in csp and "https:" not in csp
    assert 'src="data:image/png;base64,' in body          # the cid: image, embedded
    assert 'data-src="https://tracker.example' in body and ' src="https://tracker' not in body
    remote = client.get(f"/messages/{world.message.id}/html?remote=1")
    assert ' src="https://tracker.example/p.gif"' in remote.get_data(as_text=True)
    assert "img-src data: https:" in remote.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_email_partial_renders_a_sandboxed_iframe(app, client, login_as, world):
    from flask import render_template_string

    login_as(world.agent)
    client.get("/")
    with app.test_request_context("/"):
        html = render_template_string('{% include "_email_html.html" %}', m=world.message)
    assert '<iframe sandbox=""' in html and "allow-scripts" not in html
    assert f"/messages/{world.message.id}/html?remote=1" in html


def test_other_teams_cannot_fetch_anything(client, login_as, world):
    world.ticket.team_id = world.other_team.id
    db.session.commit()
    login_as(world.agent)
    for url in (f"/attachments/{world.png.id}", f"/attachments/{world.png.id}/inline",
                f"/messages/{world.message.id}/raw", f"/messages/{world.message.id}/html"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert MARKER not in response.get_data(as_text=True)


def test_anonymous_is_sent_to_login(client, world):
    response = client.get(f"/attachments/{world.png.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
