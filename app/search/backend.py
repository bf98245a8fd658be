"""Which search backend serves this app: Whoosh (default) or PostgreSQL (SEARCH_BACKEND).

Both answer the same interface, app.search.query.search_messages / search_customers, so the
search page, the header lookup and /api/v1/search do not know which one runs. The Whoosh index
is fed after commit through a queue (indexer.py); the PostgreSQL tables are written inside the
transaction that changes a message or customer (pg/writer.py), so they have no queue and no lag.
"""
from __future__ import annotations

from flask import current_app, has_app_context

from app.extensions import db

BACKENDS = ("whoosh", "postgres")


class BackendMisconfigured(RuntimeError):
    """SEARCH_BACKEND names an unknown backend, or postgres on a database that is not PostgreSQL."""


def name() -> str:
    """"whoosh" or "postgres" for the current app."""
    chosen = current_app.config.get("SEARCH_BACKEND", "whoosh") or "whoosh"
    if chosen not in BACKENDS:
        raise BackendMisconfigured(f"SEARCH_BACKEND must be one of {BACKENDS}, not {chosen!r}")
    if chosen == "postgres" and db.engine.dialect.name != "postgresql":
        raise BackendMisconfigured("SEARCH_BACKEND=postgres needs a PostgreSQL DATABASE_URL")
    return chosen


def is_postgres() -> bool:
    """True inside an app whose search runs on PostgreSQL (False outside an app context)."""
    return has_app_context() and current_app.config.get("SEARCH_BACKEND") == "postgres" and \
        name() == "postgres"
