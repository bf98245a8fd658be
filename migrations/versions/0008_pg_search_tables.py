"""PostgreSQL search backend tables (SEARCH_BACKEND=postgres); nothing on SQLite.

The tables are derived data kept outside the SQLAlchemy metadata (a tsvector has no SQLite
type): app/search/pg/schema.py describes them, and tests/test_migrations.py and
migrations/env.py leave them out of the models-versus-database comparison. This is a frozen
copy of schema.DDL as of this revision. After upgrading, `flask search reindex` fills them.

Revision ID: 0008_pg_search_tables
Revises: 0007_inbox_keyset_indexes
Create Date: 2026-12-07 22:50:00

"""
from alembic import op


revision = '0008_pg_search_tables'
down_revision = '0007_inbox_keyset_indexes'
branch_labels = None
depends_on = None

DDL = (
    """CREATE TABLE IF NOT EXISTS search_pg_messages (
        message_id integer PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
        channel varchar(20) NOT NULL,
        created_at timestamp with time zone NOT NULL,
        terms tsvector NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS ix_search_pg_messages_terms ON search_pg_messages USING gin (terms)",
    "CREATE INDEX IF NOT EXISTS ix_search_pg_messages_created ON search_pg_messages (created_at DESC, message_id DESC)",
    """CREATE TABLE IF NOT EXISTS search_pg_customers (
        customer_id integer PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
        terms tsvector NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS ix_search_pg_customers_terms ON search_pg_customers USING gin (terms)",
)


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for statement in DDL:
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("DROP TABLE IF EXISTS search_pg_customers")
    op.execute("DROP TABLE IF EXISTS search_pg_messages")
