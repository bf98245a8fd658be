"""Database-side guards for coupons: row locks, the conditional budget UPDATE, insert-or-ignore.

These are what keep limits true under concurrency; the services call them inside their
transaction and never re-check in Python what SQL already decided.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select, text, update

from app.extensions import db
from app.models import CouponBudget, Customer


def budget_month(when: datetime) -> str:
    return when.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).strftime("%Y-%m")


def insert_ignoring_conflict(table, **values) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING on PostgreSQL and SQLite; True when a row was added.

    RETURNING tells, where the rowcount cannot: psycopg reports -1 for this statement.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = insert(table).values(**values).on_conflict_do_nothing().returning(table.c.id)
    return db.session.execute(stmt).first() is not None


def lock_customer(customer_id: int) -> None:
    """Serialise coupon decisions for one customer until the transaction ends."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(select(Customer.id).where(Customer.id == customer_id).with_for_update())
    else:
        # SQLite has no row locks: the first write takes the database write lock, so later reads
        # in this transaction see every committed coupon and nobody else can write meanwhile.
        db.session.execute(text("UPDATE customers SET id = id WHERE id = :id"), {"id": customer_id})


def charge_budget(agent_id: int, month: str, amount: int, limit: Optional[int]) -> bool:
    """Add `amount` to the agent's month; with a limit, only if it stays within (checked by SQL)."""
    insert_ignoring_conflict(CouponBudget.__table__, agent_id=agent_id, month=month, spent_yen=0)
    stmt = (update(CouponBudget).where(CouponBudget.agent_id == agent_id, CouponBudget.month == month)
            .values(spent_yen=CouponBudget.spent_yen + amount)
            .execution_options(synchronize_session=False))
    if limit is not None:
        stmt = stmt.where(CouponBudget.spent_yen + amount <= limit)
    return db.session.execute(stmt).rowcount == 1
