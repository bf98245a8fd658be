"""Admin area, users: create or invite, one-time set-password links, roles, deactivation, reset."""
from __future__ import annotations

import re
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select

from app.admin import services
from app.auth.services import create_token, token_for
from app.extensions import db
from app.models import Agent, Team
from tests.factories import PASSWORD, make_agent


@pytest.fixture
def admin(app):
    return make_agent("admin", name="管理 太郎")


def _mail(app, smtp_server):
    app.config.update(SMTP_HOST=smtp_server.host, SMTP_PORT=smtp_server.port, SMTP_SECURITY="none",
                      SMTP_USER=None, MAIL_FROM="helpdesk@matsuya-tea.example")


def _link(raw: bytes) -> str:
    body = message_from_bytes(raw, policy=policy.default).get_body().get_content()
    return re.search(r"https?://\S+/set-password/\S+", body).group(0)


def test_invitation_mail_carries_a_link_that_works_once(app, client, login_as, admin, smtp_server):
    _mail(app, smtp_server)
    team = Team(name="定期便チーム")
    db.session.add(team)
    db.session.commit()
    login_as(admin)
    response = client.post("/admin/users/new", data={
        "name": "佐々木 美咲", "email": "Misaki.Sasaki@matsuya-tea.example", "role": "supervisor",
        "team_id": str(team.id), "mode": "invite"})
    assert response.status_code == 302
    invited = db.session.scalar(select(Agent).where(Agent.email == "misaki.sasaki@matsuya-tea.example"))
    assert invited.role == "supervisor" and invited.team_id == team.id and invited.password_hash == ""
    [mail] = smtp_server.wait_for(1)
    assert mail.rcpt_tos == ["misaki.sasaki@matsuya-tea.example"]
    link = _link(mail.data)
    path = link[link.index("/set-password/"):]
    client.post("/logout")
    # Not usable to sign in before the password is chosen.
    assert client.post("/login", data={"email": invited.email, "password": ""}).status_code != 302
    assert client.get(path).status_code == 200
    bad = client.post(path, data={"password": "ryokucha-2026", "confirm": "ryokucha-2027"})
    assert bad.status_code == 200 and db.session.get(Agent, invited.id).password_hash == ""
    assert client.post(path, data={"password": "ryokucha-2026", "confirm": "ryokucha-2026"}).status_code == 302
    assert client.post("/login", data={"email": invited.email, "password": "ryokucha-2026"}).status_code == 302
    client.post("/logout")
    # Used once: the same link is dead now.
    assert client.get(path).status_code == 404
    assert client.post(path, data={"password": "another-pass-1", "confirm": "another-pass-1"}).status_code == 404


def test_invite_without_smtp_shows_the_link_to_the_admin(app, client, login_as, admin):
    app.config["SMTP_HOST"] = None
    login_as(admin)
    page = client.post("/admin/users/new", data={"name": "森 健太", "email": "mori@matsuya-tea.example",
                                                  "role": "agent", "team_id": "0", "mode": "invite"},
                       follow_redirects=True).get_data(as_text=True)
    assert "/set-password/" in page and "flash-error" in page


def test_create_with_password_and_duplicate_address(client, login_as, admin):
    login_as(admin)
    form = {"name": "高橋 涼", "email": "ryo@matsuya-tea.example", "role": "agent", "team_id": "0",
            "mode": "password", "password": "hojicha-latte"}
    assert client.post("/admin/users/new", data=form).status_code == 302
    page = client.post("/admin/users/new", data=form, follow_redirects=True).get_data(as_text=True)
    assert "flash-error" in page
    assert len(db.session.scalars(select(Agent).where(Agent.email == "ryo@matsuya-tea.example")).all()) == 1
    assert client.post("/logout").status_code == 302
    assert client.post("/login", data={"email": "ryo@matsuya-tea.example", "password": "hojicha-latte"}).status_code == 302


def test_forged_or_tampered_links_are_refused(app, client, admin):
    target = make_agent("agent", name="小林 由美")
    token = services.password_token(target)
    assert client.get(f"/set-password/{token}x").status_code == 404
    assert client.get("/set-password/not-even-close").status_code == 404
    target.active = False
    db.session.commit()
    assert client.get(f"/set-password/{token}").status_code == 404


def test_deactivated_user_is_signed_out_and_cannot_sign_in_or_use_tokens(app, admin):
    worker = make_agent("agent", name="中村 翔")
    api = create_token(worker)
    other = app.test_client()
    assert other.post("/login", data={"email": worker.email, "password": PASSWORD}).status_code == 302
    assert other.get("/").status_code == 200
    services.set_active(admin, worker, False)
    assert other.get("/").status_code == 302  # the open session ended
    assert other.post("/login", data={"email": worker.email, "password": PASSWORD}).status_code != 302
    assert token_for(api) is None
    services.set_active(admin, worker, True)
    assert other.post("/login", data={"email": worker.email, "password": PASSWORD}).status_code == 302


def test_admin_cannot_deactivate_or_demote_themselves_nor_remove_the_last_admin(client, login_as, admin):
    with pytest.raises(services.AdminRefused):
        services.set_active(admin, admin, False)
    with pytest.raises(services.AdminRefused):
        services.update_user(admin, admin, admin.name, "agent", None)
    second = make_agent("admin", name="副管理 次郎")
    # The last active admin is protected even from another admin once that one is gone.
    services.set_active(admin, second, False)
    with pytest.raises(services.AdminRefused):
        services.update_user(second, admin, admin.name, "supervisor", None)
    login_as(admin)
    page = client.post(f"/admin/users/{admin.id}/active", data={"active": "0"},
                       follow_redirects=True).get_data(as_text=True)
    assert "flash-error" in page and db.session.get(Agent, admin.id).active


def test_role_and_team_change_through_the_page(client, login_as, admin):
    team = Team(name="X対応")
    db.session.add(team)
    db.session.commit()
    worker = make_agent("agent", name="吉田 楓")
    login_as(admin)
    assert worker.name in client.get(f"/admin/users/{worker.id}").get_data(as_text=True)
    response = client.post(f"/admin/users/{worker.id}", data={"name": "吉田 楓（主任）", "role": "supervisor",
                                                             "team_id": str(team.id)})
    assert response.status_code == 302
    db.session.expire_all()
    changed = db.session.get(Agent, worker.id)
    assert (changed.name, changed.role, changed.team_id) == ("吉田 楓（主任）", "supervisor", team.id)
    assert client.get("/admin/users/987654").status_code == 404


def test_reset_password_ends_sessions_and_mails_a_new_link(app, client, login_as, admin, smtp_server):
    _mail(app, smtp_server)
    worker = make_agent("agent", name="松本 蓮")
    theirs = app.test_client()
    theirs.post("/login", data={"email": worker.email, "password": PASSWORD})
    login_as(admin)
    assert client.post(f"/admin/users/{worker.id}/reset").status_code == 302
    assert theirs.get("/").status_code == 302
    assert theirs.post("/login", data={"email": worker.email, "password": PASSWORD}).status_code != 302
    [mail] = smtp_server.wait_for(1)
    link = _link(mail.data)
    assert theirs.post(link[link.index("/set-password/"):],
                       data={"password": "genmaicha-9", "confirm": "genmaicha-9"}).status_code == 302
    assert theirs.post("/login", data={"email": worker.email, "password": "genmaicha-9"}).status_code == 302


def test_users_page_lists_tokens_and_is_admin_only(client, login_as, admin, supervisor):
    holder = make_agent("agent", name="井上 葵")
    token = create_token(holder, name="在庫連携")
    token_for(token)
    login_as(supervisor)
    for url in ("/admin/users", "/admin/users/new", f"/admin/users/{holder.id}", "/admin/teams"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/admin/users/{holder.id}/active", data={"active": "0"}).status_code == 403
    assert db.session.get(Agent, holder.id).active
    client.post("/logout")
    login_as(admin)
    page = client.get("/admin/users").get_data(as_text=True)
    assert "井上 葵" in page and 'href="/admin/tokens"' in page
    row = page[page.index(f'id="user-{holder.id}"'):]
    row = row[:row.index("</tr>")]
    assert ">1<" in row and "—" not in row.split("</td>")[-2]  # one live token, a last use


def test_forms_need_the_csrf_token(app, client, login_as, admin):
    worker = make_agent("agent", name="清水 大和")
    login_as(admin)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post(f"/admin/users/{worker.id}/active", data={"active": "0"}).status_code == 400
        assert client.post("/admin/teams", data={"name": "夜間"}).status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert db.session.get(Agent, worker.id).active
