"""Report figures against a small hand-computed fixture, CSV injection, authorisation, the API."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from app.auth.services import create_token
from app.extensions import db
from app.models import Coupon, Tag, Ticket, TicketSLA
from app.reports import figures
from app.reports.export import csv_safe, parse_filters, to_csv
from app.reports.metrics import Filters, percentile, sla_report
from tests.factories import make_agent, make_customer

JST = ZoneInfo("Asia/Tokyo")
START = datetime(2026, 11, 2, tzinfo=JST)  # a Monday
F = Filters(start=START, end=START + timedelta(days=14))


def _ticket(customer, at, *, agent=None, channel="email", priority="normal", status="solved", tags=(),
            fr=None, fr_b=None, res=None, res_b=None, nr=None, replies=1, reopen=0, breached=False,
            has_target=True):
    t = Ticket(customer_id=customer.id, channel=channel, priority=priority, status=status, created_at=at,
               assignee_id=agent.id if agent else None, reopen_count=reopen, tags=list(tags))
    db.session.add(t)
    db.session.flush()
    db.session.add(TicketSLA(ticket_id=t.id, created_at=at, channel=channel, priority=priority, status=status,
                             assignee_id=t.assignee_id, first_response_seconds=fr, first_response_business_seconds=fr_b,
                             resolution_seconds=res, resolution_business_seconds=res_b, next_response_seconds=nr,
                             next_response_business_seconds=nr, replies=replies, reopen_count=reopen,
                             breached=breached, has_target=has_target, state="breached" if breached else "met"))
    return t


@pytest.fixture
def fixture_data(app):
    """Agent A: 3 tickets (FR 60/120/300 s), agent B: 1 ticket, one unassigned open ticket, one outside."""
    a, b = make_agent("agent", name="佐藤"), make_agent("agent", name="鈴木")
    c = make_customer()
    vip = Tag(name="VIP")
    _ticket(c, START + timedelta(hours=1), agent=a, fr=60, fr_b=0, res=3600, res_b=1800, replies=1, tags=[vip])
    _ticket(c, START + timedelta(days=1, hours=10), agent=a, fr=120, fr_b=120, res=7200, res_b=7200, replies=2,
            reopen=1, nr=600)
    _ticket(c, START + timedelta(days=8, hours=23), agent=a, channel="x", fr=300, fr_b=300, res=36000,
            res_b=9000, replies=3, breached=True, tags=[vip])
    _ticket(c, START + timedelta(days=2, hours=14), agent=b, channel="x", priority="high", fr=600, fr_b=600,
            res=600, res_b=600, replies=1)
    _ticket(c, START + timedelta(days=3), status="open", fr=None, replies=0, has_target=True)
    _ticket(c, START - timedelta(days=1), agent=b, fr=99999, replies=9)  # before the range
    db.session.commit()
    return a, b


def test_percentile_is_linear_interpolation():
    assert percentile([60, 120, 300], 0.5) == 120
    assert percentile([60, 120, 300], 0.9) == pytest.approx(264)
    assert percentile([5], 0.9) == 5 and percentile([], 0.5) is None


def test_sla_report_by_agent_matches_hand_computed_figures(fixture_data):
    a, b = fixture_data
    data = sla_report(F, "agent")
    by = {g["label"]: g for g in data["groups"]}
    assert set(by) == {"佐藤", "鈴木", "(unassigned)"}
    sato = by["佐藤"]
    assert sato["tickets"] == 3 and sato["solved"] == 3
    assert sato["first_response_seconds_median"] == 120
    assert sato["first_response_seconds_p90"] == pytest.approx(264)
    assert sato["first_response_business_seconds_median"] == 120
    assert sato["resolution_seconds_median"] == 7200
    assert sato["resolution_business_seconds_p90"] == pytest.approx(7200 + 0.8 * 1800)
    assert sato["next_response_seconds_median"] == 600
    assert sato["replies_per_ticket"] == 2.0
    assert sato["reopen_rate"] == pytest.approx(1 / 3, abs=1e-4)
    assert sato["sla_attainment"] == pytest.approx(2 / 3, abs=1e-4) and sato["sla_decided"] == 3
    assert by["鈴木"]["first_response_seconds_median"] == 600 and by["鈴木"]["tickets"] == 1
    unassigned = by["(unassigned)"]
    assert unassigned["sla_decided"] == 0 and unassigned["sla_attainment"] is None
    total = data["total"]
    assert total["tickets"] == 5 and total["first_response_seconds_median"] == 210  # 60,120,300,600
    assert total["sla_attainment"] == 0.75


def test_grouping_by_channel_priority_tag_week(fixture_data):
    by_channel = {g["key"]: g["tickets"] for g in sla_report(F, "channel")["groups"]}
    assert by_channel == {"email": 3, "x": 2}
    by_priority = {g["key"]: g["tickets"] for g in sla_report(F, "priority")["groups"]}
    assert by_priority == {"normal": 4, "high": 1}
    by_tag = {g["key"]: g for g in sla_report(F, "tag")["groups"]}
    assert list(by_tag) == ["VIP"] and by_tag["VIP"]["first_response_seconds_median"] == 180
    # week of the shop zone: 11-10 23:00 JST is in the second week
    by_week = {g["key"]: g["tickets"] for g in sla_report(F, "week")["groups"]}
    assert by_week == {"2026-11-02": 4, "2026-11-09": 1}
    only_x = Filters(start=F.start, end=F.end, channel="x")
    assert sla_report(only_x, "none")["total"]["tickets"] == 2


def test_heatmap_backlog_coupons(fixture_data):
    a, _b = fixture_data
    hm = figures.volume_heatmap(F)
    assert hm["grid"][0][1] == 1   # Monday 01:00 JST
    assert hm["grid"][1][10] == 1  # Tuesday 10:00
    assert hm["grid"][1][23] == 1  # Tuesday 11-10 23:00 JST (14:00 UTC)
    assert sum(map(sum, hm["grid"])) == 5
    now = START + timedelta(days=5)
    backlog = figures.backlog_by_age(now=now)
    assert [r["tickets"] for r in backlog] == [0, 1, 0, 0, 0]  # the open ticket is 2 days old
    c = make_customer()
    db.session.add_all([
        Coupon(customer_id=c.id, value=500, status="issued", issued_by_id=a.id, issued_at=START + timedelta(days=1)),
        Coupon(customer_id=c.id, value=1000, status="redeemed", issued_by_id=a.id, issued_at=START + timedelta(days=2)),
        Coupon(customer_id=c.id, value=10, kind="percent", status="issued", issued_by_id=a.id, issued_at=START + timedelta(days=2)),
        Coupon(customer_id=c.id, value=800, status="requested", issued_by_id=a.id, created_at=START + timedelta(days=2)),
    ])
    db.session.commit()
    spend = figures.coupon_spend(F)
    assert spend == [{"key": a.id, "label": "佐藤", "coupons": 3, "yen": 1500, "redeemed": 1, "percent_coupons": 1}]
    saves = figures.save_rates(F)
    assert saves is not None and saves["reason"] == []


def test_csv_cells_cannot_become_formulas():
    for evil in ("=HYPERLINK(\"http://x\")", "+1+2", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert csv_safe(evil) == "'" + evil
    assert csv_safe("佐藤") == "佐藤" and csv_safe(-5) == -5
    text = to_csv(["a"], [["=1+1"], [3]])
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows == [["a"], ["'=1+1"], ["3"]]


def test_csv_export_escapes_agent_names(client, supervisor, login_as, app):
    login_as(supervisor)
    evil = make_agent("agent", name="=cmd|' /C calc'!A0")
    c = make_customer()
    _ticket(c, datetime.now(timezone.utc) - timedelta(hours=1), agent=evil, fr=60)
    db.session.commit()
    response = client.get("/reports/export/sla.csv?group_by=agent")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[1][0] == "'=cmd|' /C calc'!A0"
    for section in ("backlog", "heatmap", "retention", "coupons", "nps"):
        assert client.get(f"/reports/export/{section}.csv").status_code == 200


PAGES = ("/reports/", "/reports/export/sla.csv", "/sla/live", "/sla/live/rows", "/sla/policies", "/sla/calendar")


def test_agents_get_403_supervisors_get_the_pages(client, agent, supervisor, login_as, fixture_data):
    login_as(agent)
    for page in PAGES:
        assert client.get(page).status_code == 403, page
    client.post("/logout")
    login_as(supervisor)
    for page in PAGES:
        assert client.get(page).status_code == 200, page
    body = client.get("/reports/?from=2026-11-02&to=2026-11-15&group_by=agent").get_data(as_text=True)
    assert "佐藤" in body and "chart.umd.min.js" in body and 'value="2026-11-15"' in body


def test_api_sla_report_same_figures_and_403_for_agents(client, agent, supervisor, fixture_data):
    token = create_token(agent)
    url = "/api/v1/reports/sla?from=2026-11-02&to=2026-11-15&group_by=channel"
    assert client.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 403
    sup = create_token(supervisor)
    response = client.get(url, headers={"Authorization": f"Bearer {sup}"})
    assert response.status_code == 200
    f, _, _ = parse_filters({"from": "2026-11-02", "to": "2026-11-15"})
    assert response.get_json() == sla_report(f, "channel")
    assert response.get_json()["total"]["tickets"] == 5
    bad = client.get("/api/v1/reports/sla?group_by=none&from=xx", headers={"Authorization": f"Bearer {sup}"})
    assert bad.status_code == 422 and set(bad.get_json()["fields"]) == {"group_by", "from"}
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/reports/sla" in spec["paths"] or "/reports/sla" in str(spec["paths"])


def test_parse_filters_defaults_to_the_last_four_weeks():
    from config import TestingConfig
    from app import create_app

    with create_app(TestingConfig).app_context():
        f, group_by, errors = parse_filters({}, today=date(2026, 11, 23))
    assert f.start == datetime(2026, 10, 27, tzinfo=JST) and f.end == datetime(2026, 11, 24, tzinfo=JST)
    assert group_by == "agent" and errors == {} and f.tz_offset_minutes == 540


def test_large_ranges_sample_percentiles_but_keep_counts_exact(fixture_data, monkeypatch):
    from app.reports import metrics

    monkeypatch.setattr(metrics, "EXACT_PERCENTILE_LIMIT", 2)
    data = sla_report(F, "channel")
    total = data["total"]
    assert total["percentiles_sample"] == 3 and total["tickets"] == 5 and total["sla_attainment"] == 0.75
    # every third ticket id: ticket 3 (FR 300 s) and ticket 6 (before the range) -> only 300 s
    assert total["first_response_seconds_median"] == 300
    assert {g["key"]: g["tickets"] for g in data["groups"]} == {"email": 3, "x": 2}
