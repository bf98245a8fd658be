"""Refuse input the database cannot store before any view runs (a 404/422, never a 500).

PostgreSQL's integer columns stop at 2**31-1 and its text cannot hold NUL: an id like
/tickets/99999999999 or ?customer_id=1e19 or a "\\x00" in a query string would otherwise raise a
DataError deep in a query. SQLite accepts both, so this only shows up on one backend — the API
fuzzing test (tests/test_api_fuzz.py) found it.

Two more shapes are refused here for every view (issue 20, item 6): a JSON body nested deeper
than MAX_JSON_DEPTH (json.loads, marshmallow and our own walkers recurse, and a RecursionError
was a 500) and a path that is not valid UTF-8 or holds control characters (werkzeug decodes
%ff%fe to U+FFFD, which was then stored as a shop's external id).
"""
from __future__ import annotations

import json
import unicodedata
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import Flask, abort, jsonify, request

DB_INT_MAX = 2**31 - 1
#: No request body we accept is nested more than a few levels; this leaves plenty of room.
MAX_JSON_DEPTH = 32
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


def _depth(value: Any) -> int:
    """How deeply lists and objects nest in `value` (iterative: deep input cannot recurse here)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            if level > MAX_JSON_DEPTH:
                return level
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _too_deep_body() -> bool:
    """True if the body is JSON nested deeper than MAX_JSON_DEPTH. Bodies that are not JSON at
    all are left to the view, which says what is wrong with them."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return False
    try:
        data = json.loads(raw.decode("utf-8-sig", "surrogateescape"))
    except RecursionError:
        return True
    except ValueError:
        return False
    return _depth(data) > MAX_JSON_DEPTH


def _wsgi_bytes(text: str) -> bytes:
    """A WSGI string back to the bytes that were sent (latin-1 per PEP 3333, if it is one)."""
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")


def _bad_path() -> str | None:
    """Why the request path cannot be an id we store, or None."""
    environ = request.environ
    raw_uri = environ.get("RAW_URI") or environ.get("REQUEST_URI")  # gunicorn, werkzeug: as sent
    try:
        if raw_uri:
            path = unquote_to_bytes(_wsgi_bytes(raw_uri.partition("?")[0])).decode("utf-8")
        else:  # PEP 3333: the decoded bytes as latin-1
            path = _wsgi_bytes(environ.get("PATH_INFO", "")).decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return "is not valid UTF-8"
    if any(unicodedata.category(ch) == "Cc" for ch in path):
        return "contains a control character"
    return None


#: Signed webhooks that verify the raw body before parsing it, and whose numbers are not our ids
#: (LINE's millisecond timestamps exceed DB_INT_MAX): their JSON is left to them.
_SELF_CHECKED_HOOKS = ("/hooks/line",)


def _wants_json_body() -> bool:
    return request.method in ("POST", "PUT", "PATCH") and request.path not in _SELF_CHECKED_HOOKS and (
        request.is_json or request.path.startswith("/api/"))


def check_request():
    problem = _bad_path()
    if problem:
        return _refuse("path", problem)
    if _wants_json_body() and _too_deep_body():
        if request.path.startswith("/api/"):
            return jsonify(error="bad_request",
                           message=f"the JSON body is nested too deeply (more than {MAX_JSON_DEPTH} levels)"), 400
        abort(400)
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and value > DB_INT_MAX:
            abort(404)
    for name, value in request.args.items(multi=True):
        if "\x00" in value or "\x00" in name:
            return _refuse(name, "contains a NUL character")
        if _numeric_param(name) and _too_big(value):
            return _refuse(name, f"must be at most {DB_INT_MAX}")
    if request.is_json and request.content_length and request.path not in _SELF_CHECKED_HOOKS:
        field = _json_problem(request.get_json(silent=True))
        if field:
            return _refuse(field, f"numbers must be at most {DB_INT_MAX} and text must not contain NUL")
    return None


def init_inputs(app: Flask) -> None:
    app.before_request(check_request)
