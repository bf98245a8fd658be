"""Turning report data into what the page, the CSV export and the API need.

CSV cells that a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) are
prefixed with a single quote (OWASP "CSV injection"); numbers are written as numbers.
"""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable, Optional
from zoneinfo import ZoneInfo

from flask import current_app

from app.reports import figures
from app.reports.metrics import DURATIONS, GROUPS, Filters, sla_report

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SECTIONS = ("sla", "backlog", "heatmap", "retention", "coupons", "nps")


def csv_safe(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([csv_safe(h) for h in header])
    for row in rows:
        writer.writerow([csv_safe("" if v is None else v) for v in row])
    return "\ufeff" + out.getvalue()  # BOM: Excel opens UTF-8 Japanese correctly


def parse_filters(args, tz: Optional[str] = None, today: Optional[date] = None) -> tuple[Filters, str, dict]:
    """(filters, group_by, errors) from query args: from/to (YYYY-MM-DD, shop days, inclusive)."""
    tz = tz or current_app.config.get("TIMEZONE", "Asia/Tokyo")
    zone = ZoneInfo(tz)
    today = today or datetime.now(zone).date()
    errors: dict[str, str] = {}

    def day(name: str, default: date) -> date:
        raw = (args.get(name) or "").strip()
        if not raw:
            return default
        try:
            return date.fromisoformat(raw[:10])
        except ValueError:
            errors[name] = "expected YYYY-MM-DD"
            return default

    first, last = day("from", today - timedelta(days=27)), day("to", today)
    if last < first:
        errors["to"] = "before from"
        last = first
    group_by = args.get("group_by") or "agent"
    if group_by not in GROUPS:
        errors["group_by"] = f"one of {', '.join(GROUPS)}"
        group_by = "agent"
    start = datetime.combine(first, time(0), zone)
    end = datetime.combine(last + timedelta(days=1), time(0), zone)
    agent_id = args.get("agent_id")
    f = Filters(start=start, end=end, channel=args.get("channel") or None, priority=args.get("priority") or None,
                agent_id=int(agent_id) if agent_id and str(agent_id).isdigit() else None, tz=tz,
                tz_offset_minutes=int(start.utcoffset().total_seconds() // 60))
    return f, group_by, errors


def section_csv(section: str, f: Filters, group_by: str) -> str:
    if section == "sla":
        data = sla_report(f, group_by)
        keys = ["label", "tickets", "solved", "replies_per_ticket", "reopen_rate", "sla_attainment",
                *[f"{n}_{p}" for n in DURATIONS for p in ("median", "p90")]]
        rows = [[g[k] for k in keys] for g in data["groups"]] + [[("total" if k == "label" else data["total"][k]) for k in keys]]
        return to_csv([group_by, *keys[1:]], rows)
    if section == "backlog":
        return to_csv(["age", "tickets"], [[r["age"], r["tickets"]] for r in figures.backlog_by_age(f=f)])
    if section == "heatmap":
        hm = figures.volume_heatmap(f)
        return to_csv(["weekday", *[str(h) for h in range(24)]],
                      [[d, *hm["grid"][i]] for i, d in enumerate(hm["weekdays"])])
    if section == "retention":
        data = figures.save_rates(f) or {}
        rows = [[dim, r.get("label", r["key"]), r.get("cases", ""), r.get("saved"), r.get("decided", ""),
                 r.get("pending", ""), r.get("save_rate", r.get("share"))]
                for dim in ("reason", "action", "agent") for r in data.get(dim, [])]
        rows += [["rule", r["key"], "", "", "", "", r["label"]] for r in data.get("rule", [])]
        return to_csv(["dimension", "key", "cases", "saved", "decided", "pending", "rate"], rows)
    if section == "coupons":
        return to_csv(["agent", "coupons", "yen", "redeemed", "percent_coupons"],
                      [[r["label"], r["coupons"], r["yen"], r["redeemed"], r["percent_coupons"]]
                       for r in figures.coupon_spend(f)])
    if section == "nps":
        data = figures.satisfaction(f)
        cols = ["responses", "promoters", "passives", "detractors", "nps", "csat", "average"]
        rows = [["total", *[data["total"][c] for c in cols]]] + [[r["label"], *[r[c] for c in cols]] for r in data["by_agent"]]
        return to_csv(["agent", *cols], rows)
    raise ValueError(section)
