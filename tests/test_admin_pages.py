"""Admin area pages: the settings hub and its links, teams, channel status, SLA channel choice."""
from __future__ import annotations

from sqlalchemy import select

from app.channels.state import record_error, record_success
from app.extensions import db
from app.models import SLAPolicy, Team
from tests.factories import make_agent


def _page(client, url):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def test_hub_is_in_the_navigation_and_links_every_settings_page(client, login_as):
    admin = make_agent("admin", name="管理 花")
    login_as(admin)
    inbox = _page(client, "/")
    assert 'href="/admin"' in inbox
    hub = _page(client, "/admin")
    for href in ("/admin/users", "/admin/teams", "/admin/tokens", "/sla/policies", "/sla/calendar",
                 "/admin/macros", "/admin/reply-check", "/admin/channels"):
        assert f'href="{href}' in hub, href
    for href in ("/admin/users", "/admin/teams", "/admin/channels", "/admin/tokens"):
        _page(client, href)


def test_supervisor_gets_the_hub_without_people_pages_and_agents_get_403(client, login_as, supervisor, agent):
    login_as(supervisor)
    hub = _page(client, "/admin")
    assert 'href="/sla/policies"' in hub and 'href="/admin/users"' not in hub
    assert 'href="/admin"' in _page(client, "/")
    client.post("/logout")
    login_as(agent)
    assert 'href="/admin"' not in _page(client, "/")
    for url in ("/admin", "/admin/channels", "/admin/users", "/admin/teams"):
        assert client.get(url).status_code == 403, url


def test_teams_add_rename_and_refuse_duplicates(client, login_as):
    login_as(make_agent("admin", name="管理 湊"))
    assert client.post("/admin/teams", data={"name": "ギフト担当"}).status_code == 302
    team = db.session.scalar(select(Team).where(Team.name == "ギフト担当"))
    make_agent("agent", name="担当 一花", team_id=team.id)
    page = _page(client, "/admin/teams")
    assert "ギフト担当" in page and f'id="team-{team.id}"' in page
    client.post("/admin/teams", data={"name": "法人窓口"})
    page = client.post(f"/admin/teams/{team.id}", data={"name": "法人窓口"}, follow_redirects=True).get_data(as_text=True)
    assert "flash-error" in page
    client.post(f"/admin/teams/{team.id}", data={"name": "ギフト・熨斗担当"})
    db.session.expire_all()
    assert db.session.get(Team, team.id).name == "ギフト・熨斗担当"
    assert client.post("/admin/teams/987654", data={"name": "x"}).status_code == 404


def test_channel_status_shows_failing_and_healthy_mailboxes(client, login_as, supervisor):
    record_success("email", "support@matsuya-tea.example/INBOX")
    record_error("email", "gift@matsuya-tea.example/INBOX", "IMAP login failed: [AUTHENTICATIONFAILED]")
    record_success("x", "1234567890")
    login_as(supervisor)
    page = _page(client, "/admin/channels")
    assert "support@matsuya-tea.example/INBOX" in page and "1234567890" in page
    assert "AUTHENTICATIONFAILED" in page and page.count("channel-failing") == 1


def test_sla_policy_channel_is_a_choice_of_known_channels(client, login_as, supervisor):
    login_as(supervisor)
    page = _page(client, "/sla/policies")
    assert '<select id="channel" name="channel">' in page and 'value="email"' in page
    form = {"name": "メール一次回答", "position": "10", "active": "y", "priority": "", "channel": "email",
            "segment": "", "first_response_minutes": "120", "business_hours": "y"}
    assert client.post("/sla/policies", data=form).status_code == 302
    assert db.session.scalar(select(SLAPolicy.channel).where(SLAPolicy.name == "メール一次回答")) == "email"
    client.post("/sla/policies", data={**form, "name": "自由入力", "channel": "メール"})
    assert db.session.scalar(select(SLAPolicy).where(SLAPolicy.name == "自由入力")) is None


def test_user_page_lists_their_tokens_with_scopes_and_last_use(client, login_as):
    from app.auth.services import create_token, token_for

    admin = make_agent("admin", name="管理 律")
    holder = make_agent("agent", name="近藤 紬")
    used = create_token(holder, name="電話連携", scopes=["read", "calls:write"])
    token_for(used)
    create_token(holder, name="未使用トークン", scopes=["read"])
    login_as(admin)
    page = _page(client, f"/admin/users/{holder.id}")
    tokens = page[page.index('class="list compact user-tokens"'):]
    tokens = tokens[:tokens.index("</table>")]
    assert "電話連携" in tokens and "calls:write" in tokens and "未使用トークン" in tokens
    assert 'href="/admin/tokens"' in page
