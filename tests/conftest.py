"""Shared fixtures: a fresh app and database per test, on SQLite and on PostgreSQL.

Every test that uses `app` runs once per backend (the `database_url` fixture is parametrised),
so the whole suite runs against both in one pytest session. Tables are created once per backend
and emptied after each test, so tests never share data or depend on order.
"""
from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from app import create_app
from app.extensions import db
from config import TestingConfig

pytest_plugins = [
    "tests.servers.postgres",
    "tests.servers.dovecot",
    "tests.servers.smtp",
    "tests.servers.browser",
    "tests.servers.redis",
    "tests.factories",
]

BACKENDS = [b for b in os.environ.get("TSUNAGU_TEST_BACKENDS", "sqlite,postgresql").split(",") if b]
_schema_ready: set[str] = set()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """One database per backend for the whole session."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'tsunagu-test.db'}"
    server = request.getfixturevalue("postgres_server")
    server.create_database("tsunagu_test")
    return server.url("tsunagu_test")


def pytest_configure(config):
    config.addinivalue_line("markers", "whoosh_only: a search test about the Whoosh index itself")
    config.addinivalue_line("markers", "postgres_search_only: a test of the PostgreSQL search backend")


def pytest_generate_tests(metafunc):
    """Tests using `search_backend` (tests/search_backends.py) run on both search backends."""
    if "search_backend" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker
        names = ["whoosh"] if marker("whoosh_only") else ["postgres"] if marker("postgres_search_only") \
            else ["whoosh", "postgres"]
        metafunc.parametrize("search_backend", names, indirect=True)


def pytest_collection_modifyitems(config, items):
    """The postgres search backend needs the PostgreSQL database: drop its SQLite combinations."""
    keep, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        pg_on_sqlite = params.get("search_backend") == "postgres" and params.get("database_url") == "sqlite"
        (dropped if pg_on_sqlite else keep).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture
def backend(database_url) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


def _empty_all_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
        db.session.execute(text("DELETE FROM sqlite_sequence")) if _has_sqlite_sequence() else None
    db.session.commit()


def _has_sqlite_sequence() -> bool:
    return bool(db.session.execute(
        text("SELECT name FROM sqlite_master WHERE name='sqlite_sequence'")).first())


@pytest.fixture
def app(database_url, tmp_path):
    """A fresh app bound to the backend's database, emptied after the test."""
    app = create_app(
        TestingConfig,
        SQLALCHEMY_DATABASE_URI=database_url,
        INSTANCE_DIR=str(tmp_path / "instance"),
        SEARCH_INDEX_DIR=str(tmp_path / "search-index"),
    )
    with app.app_context():
        if database_url not in _schema_ready:
            db.drop_all()
            db.create_all()
            _schema_ready.add(database_url)
        try:
            yield app
        finally:
            db.session.rollback()
            db.session.remove()
            _empty_all_tables()
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
