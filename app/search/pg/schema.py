"""Tables of the PostgreSQL search backend (kept out of db.metadata: PostgreSQL only).

One row per message and per live customer; `terms` is a tsvector built by vectors.py. Rows
follow their message or customer out through ON DELETE CASCADE (and a TRUNCATE ... CASCADE of
the parents, as the tests do). Only what never changes is copied (channel, created_at): searches
join `messages` and `tickets` for the ticket, its status, team and assignee, so a reassignment or
a ticket merge needs no re-indexing and visibility is never stale.

Migration 0008_pg_search_tables holds a frozen copy of this DDL; `create()` (idempotent) is for
tests and benchmarks, which build their schema with db.create_all().
"""
from __future__ import annotations

from sqlalchemy import Connection, column, table, text
from sqlalchemy.dialects.postgresql import TSVECTOR

MESSAGES = "search_pg_messages"
CUSTOMERS = "search_pg_customers"
TABLES = (MESSAGES, CUSTOMERS)

messages = table(MESSAGES, column("message_id"), column("channel"),
                 column("created_at"), column("terms", TSVECTOR))
customers = table(CUSTOMERS, column("customer_id"), column("terms", TSVECTOR))

DDL = (
    f"""CREATE TABLE IF NOT EXISTS {MESSAGES} (
        message_id integer PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
        channel varchar(20) NOT NULL,
        created_at timestamp with time zone NOT NULL,
        terms tsvector NOT NULL)""",
    f"CREATE INDEX IF NOT EXISTS ix_{MESSAGES}_terms ON {MESSAGES} USING gin (terms)",
    f"CREATE INDEX IF NOT EXISTS ix_{MESSAGES}_created ON {MESSAGES} (created_at DESC, message_id DESC)",
    f"""CREATE TABLE IF NOT EXISTS {CUSTOMERS} (
        customer_id integer PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
        terms tsvector NOT NULL)""",
    f"CREATE INDEX IF NOT EXISTS ix_{CUSTOMERS}_terms ON {CUSTOMERS} USING gin (terms)",
)


def create(conn: Connection) -> None:
    """Create the tables and indexes if missing (PostgreSQL only)."""
    for statement in DDL:
        conn.execute(text(statement))


def exists(conn: Connection) -> bool:
    return conn.execute(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": MESSAGES}).scalar()


def include_name(name, type_, parent_names) -> bool:
    """Alembic `include_name`: autogenerate and the models==migrations test skip these tables."""
    return not (type_ == "table" and name in TABLES)
