"""Fixtures that run a search test module on both search backends (SEARCH_BACKEND).

A module imports `app` and `search_backend` from here: its tests then run with Whoosh (on both
databases) and with the PostgreSQL backend (on the PostgreSQL database only; conftest drops the
impossible SQLite combination). `@pytest.mark.whoosh_only` keeps a test about the Whoosh index
itself (its queue, lock, files) to Whoosh.
"""
from __future__ import annotations

import pytest

from app.extensions import db
from app.search.pg import schema


@pytest.fixture
def search_backend(request) -> str:
    return request.param


@pytest.fixture
def app(app, search_backend):
    """conftest's app, searching with `search_backend`."""
    app.config["SEARCH_BACKEND"] = search_backend
    if search_backend == "postgres":
        with db.engine.begin() as conn:  # test schemas come from create_all, not migrations
            schema.create(conn)
    return app
