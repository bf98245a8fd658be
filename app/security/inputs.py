"""Refuse input the database cannot store before any view runs (a 404/422, never a 500).

PostgreSQL's integer columns stop at 2**31-1 and its text cannot hold NUL: an id like
/tickets/99999999999 or ?customer_id=1e19 or a "\\x00" in a query string would otherwise raise a
DataError deep in a query. SQLite accepts both, so this only shows up on one backend — the API
fuzzing test (tests/test_api_fuzz.py) found it.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, abort, jsonify, request

DB_INT_MAX = 2**31 - 1
#: Query parameters that are database ids or page numbers.
_NUMERIC_PARAMS = ("page", "per_page", "limit", "offset")


def _numeric_param(name: str) -> bool:
    return name in _NUMERIC_PARAMS or name.endswith("_id")


def _too_big(value: str) -> bool:
    text = value.strip().lstrip("+-")
    return text.isdigit() and len(text) < 400 and int(text) > DB_INT_MAX


def _json_problem(value: Any, path: str = "") -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and abs(value) > DB_INT_MAX:
        return path or "body"
    if isinstance(value, str) and "\x00" in value:
        return path or "body"
    if isinstance(value, dict):
        for key, item in value.items():
            found = _json_problem(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _json_problem(item, f"{path}.{index}" if path else str(index))
            if found:
                return found
    return None


def _refuse(field: str, message: str):
    if request.path.startswith("/api/"):
        return jsonify(error="validation", fields={field: message}), 422
    abort(400)


def check_request():
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and value > DB_INT_MAX:
            abort(404)
    for name, value in request.args.items(multi=True):
        if "\x00" in value or "\x00" in name:
            return _refuse(name, "contains a NUL character")
        if _numeric_param(name) and _too_big(value):
            return _refuse(name, f"must be at most {DB_INT_MAX}")
    if request.is_json and request.content_length:
        field = _json_problem(request.get_json(silent=True))
        if field:
            return _refuse(field, f"numbers must be at most {DB_INT_MAX} and text must not contain NUL")
    return None


def init_inputs(app: Flask) -> None:
    app.before_request(check_request)
