"""Turning the strings of a cart export into typed upsert data (one record at a time).

Japanese carts write numbers as "1,980", "¥1,980" or "１９８０円", dates as "2025/04/01 09:30",
"2025-04-01" or "2025年4月1日", and cycles as "30日" or "1ヶ月"; times without a zone are the
shop's local time. A value that cannot be read raises RowError naming the column.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Any, Optional
from zoneinfo import ZoneInfo


class RowError(ValueError):
    """This row cannot be imported; the message says which column and why."""


_DATE_RE = re.compile(r"^(\d{4})[-/年.](\d{1,2})[-/月.](\d{1,2})日?(?:[ T　]+(\d{1,2})[:時](\d{1,2})(?:[:分](\d{1,2})秒?)?)?$")


def _clean(value: Optional[str]) -> str:
    return unicodedata.normalize("NFKC", value or "").strip()


def _check_text(name: str, value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RowError(f"{name}: cannot be decoded in the file's encoding") from None
    return value


def parse_int(name: str, value: Optional[str], default: Optional[int] = None) -> Optional[int]:
    text = _clean(value).replace(",", "").replace("¥", "").replace("円", "").replace("\\", "").strip()
    if not text:
        return default
    try:
        return int(float(text)) if "." in text else int(text)
    except ValueError:
        raise RowError(f"{name}: {value!r} is not a number") from None


def parse_datetime(name: str, value: Optional[str], tz: str) -> Optional[datetime]:
    text = _clean(value)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        m = _DATE_RE.match(text)
        if not m:
            raise RowError(f"{name}: {value!r} is not a date and time") from None
        y, mo, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
        try:
            parsed = datetime(y, mo, d, h, mi, s)
        except ValueError as exc:
            raise RowError(f"{name}: {value!r}: {exc}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ZoneInfo(tz))


def parse_date(name: str, value: Optional[str]) -> Optional[date]:
    text = _clean(value)
    if not text:
        return None
    m = _DATE_RE.match(text)
    if not m:
        raise RowError(f"{name}: {value!r} is not a date")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise RowError(f"{name}: {value!r}: {exc}") from None


def parse_cycle(name: str, value: Optional[str]) -> Optional[int]:
    text = _clean(value)
    if not text:
        return None
    m = re.match(r"^(\d+)\s*(日|days?|d)?(ごと|毎|おき)?$", text, re.IGNORECASE)
    if m:
        return int(m.group(1))
    m = re.match(r"^(\d+)\s*(ヶ月|か月|カ月|ケ月|months?)(ごと|毎|おき)?$", text, re.IGNORECASE)
    if m:
        return int(m.group(1)) * 30
    raise RowError(f"{name}: {value!r} is not a delivery cycle (e.g. 30日, 2ヶ月)")


def _status(name: str, value: str, mapping: dict[str, Any], allowed: tuple[str, ...], default: str) -> str:
    text = _clean(value)
    if not text:
        return default
    table = (mapping.get("values") or {}).get("status") or {}
    status = table.get(text, text.lower())
    if status not in allowed:
        raise RowError(f"{name}: unknown status {value!r}")
    return status


def build_record(kind: str, rows: list[dict[str, str]], mapping: dict[str, Any], tz: str) -> tuple[str, dict]:
    """(external id, upsert data) for one record; `rows` are the lines of one order, else one row."""
    first = rows[0]
    external_id = _check_text("external_id", _clean(first.get("external_id")))
    if not external_id:
        raise RowError("external_id: empty")
    if len(external_id) > 100:
        raise RowError("external_id: longer than 100 characters")
    for row in rows:
        for key, value in row.items():
            _check_text(key, value)
    if kind == "customers":
        return external_id, {"name": first.get("name", ""), "name_kana": first.get("name_kana", ""),
                             "email": first.get("email") or None, "phone": first.get("phone") or None}
    ref = {"customer_external_id": first.get("customer_external_id") or None,
           "email": first.get("email") or None, "phone": first.get("phone") or None,
           "customer_name": first.get("customer_name") or None}
    if not (ref["customer_external_id"] or ref["email"] or ref["phone"]):
        raise RowError("customer: a customer number, email or phone is required")
    if kind == "subscriptions":
        from app.models.commerce import SUBSCRIPTION_STATUSES

        data = dict(ref, product_external_id=_clean(first.get("product_external_id")),
                    status=_status("status", first.get("status", ""), mapping, SUBSCRIPTION_STATUSES, "active"),
                    cycle_days=parse_cycle("cycle_days", first.get("cycle_days")) or 30,
                    quantity=parse_int("quantity", first.get("quantity"), 1),
                    price=parse_int("price", first.get("price")),
                    deliveries=parse_int("deliveries", first.get("deliveries"), 0))
        if not data["product_external_id"]:
            raise RowError("product_external_id: empty")
        if not 1 <= data["cycle_days"] <= 365:
            raise RowError("cycle_days: must be 1 to 365 days")
        for name in ("next_ship_date", "last_ship_date", "started_on", "paused_until"):
            if name in first:
                data[name] = parse_date(name, first.get(name))
        if "cancelled_at" in first:
            data["cancelled_at"] = parse_datetime("cancelled_at", first.get("cancelled_at"), tz)
        return external_id, data
    from app.commerce.schemas import ORDER_STATUSES

    ordered_at = parse_datetime("ordered_at", first.get("ordered_at"), tz)
    if ordered_at is None:
        raise RowError("ordered_at: empty")
    lines = []
    for row in rows:
        code = _clean(row.get("product_external_id"))
        quantity = parse_int("quantity", row.get("quantity"), 1)
        if quantity is None or quantity < 1:
            raise RowError(f"quantity: {row.get('quantity')!r} must be at least 1")
        if code or row.get("line_name"):
            lines.append({"product_external_id": code or None, "name": row.get("line_name", ""),
                          "quantity": quantity, "unit_price": parse_int("unit_price", row.get("unit_price"), 0)})
    total = parse_int("total", first.get("total"))
    if total is not None and total < 0:
        raise RowError("total: cannot be negative")
    return external_id, dict(ref, ordered_at=ordered_at, total=total, lines=lines,
                             status=_status("status", first.get("status", ""), mapping, ORDER_STATUSES, "ordered"),
                             coupon_code=first.get("coupon_code") or None,
                             subscription_external_id=first.get("subscription_external_id") or None)
