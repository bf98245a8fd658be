"""Supervisor-only report pages and CSV export (every chart has its table beside it)."""
from __future__ import annotations

from datetime import timedelta

from flask import Response, abort, render_template, request
from sqlalchemy import select

from app.auth.access import supervisor_required
from app.extensions import db
from app.models import PRIORITIES, Agent
from app.reports import bp, figures
from app.reports.export import SECTIONS, parse_filters, section_csv
from app.reports.metrics import GROUPS, sla_report
from app.retention.panel import REASON_LABELS, SAVED_BY_LABELS
from app.templating import CHANNEL_LABELS, PRIORITY_LABELS, local_time


@bp.app_template_filter("hours")
def _hours(seconds):
    """Seconds as hours with one decimal (chart data); None stays None."""
    return None if seconds is None else round(seconds / 3600, 1)


@bp.app_template_filter("percent")
def _percent(share):
    return None if share is None else round(share * 100, 1)


def _coded_labels(sla: dict, group_by: str) -> dict:
    """Channel and priority groups are codes in the data; the page shows their names."""
    names = {"channel": CHANNEL_LABELS, "priority": PRIORITY_LABELS}.get(group_by)
    for group in sla["groups"] if names else ():
        group["label"] = str(names.get(group["label"], group["label"]))
    return sla


@bp.get("/")
@supervisor_required
def index():
    """All report sections for the chosen range and filters."""
    f, group_by, errors = parse_filters(request.args)
    agents = db.session.execute(select(Agent.id, Agent.name).order_by(Agent.name)).all()
    return render_template(
        "reports/index.html", f=f, group_by=group_by, errors=errors, groups=GROUPS, agents=agents,
        priorities=PRIORITIES, sla=_coded_labels(sla_report(f, group_by), group_by), backlog=figures.backlog_by_age(f=f),
        heatmap=figures.volume_heatmap(f), saves=figures.save_rates(f), coupons=figures.coupon_spend(f),
        nps=figures.satisfaction(f), query=request.args.to_dict(), weekdays=figures.weekday_labels(),
        age_labels=figures.age_labels(), reason_labels=REASON_LABELS, action_labels=SAVED_BY_LABELS,
        to_date=(local_time(f.end) - timedelta(days=1)).date().isoformat())


@bp.get("/export/<section>.csv")
@supervisor_required
def export(section: str):
    """One section as CSV, safe to open in a spreadsheet."""
    if section not in SECTIONS:
        abort(404)
    f, group_by, _errors = parse_filters(request.args)
    body = section_csv(section, f, group_by)
    name = f"tsunagu-{section}-{f.start.date()}-{(f.end.date())}.csv"
    return Response(body, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
