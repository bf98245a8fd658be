"""The committed migrations build exactly the schema the models describe."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade

from app import create_app
from app.extensions import db
from app.search.pg.schema import include_name
from config import TestingConfig


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.db'}"
    server = request.getfixturevalue("postgres_server")
    return server.create_database("tsunagu_migrations")


def test_upgrade_from_empty_matches_models(empty_database_url, tmp_path):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=empty_database_url,
                     INSTANCE_DIR=str(tmp_path / "instance"))
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            # include_name: the PostgreSQL search tables live outside the models (migration 0008).
            context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                             "include_name": include_name})
            diff = compare_metadata(context, db.metadata)
        db.engine.dispose()
    assert diff == [], f"models and migrations disagree: {diff}"
