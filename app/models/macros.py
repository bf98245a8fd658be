"""Composer aids: canned replies (macros) and the reply-check dictionary, both edited by supervisors."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

LANGUAGES = ("ja", "en")


class Macro(db.Model):
    """A canned reply; `{customer_name}`-style variables are filled in per ticket (app.macros)."""

    __tablename__ = "macros"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    #: ja | en: the customer name gets 様 in Japanese.
    language: Mapped[str] = mapped_column(String(5), default="ja")
    body: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("agents.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    created_by = relationship("Agent")


class ReplyCheckTerm(db.Model):
    """Wording a reply must not contain without the agent confirming (薬機法 / 景表法 claims)."""

    __tablename__ = "reply_check_terms"
    id: Mapped[int] = mapped_column(primary_key=True)
    #: Matched after NFKC, case-insensitively; Latin terms only at a word start ("cure", not "secure").
    term: Mapped[str] = mapped_column(String(100), unique=True)
    language: Mapped[str] = mapped_column(String(5), default="ja")
    #: Why it is risky / what to write instead, shown to the agent.
    note: Mapped[str] = mapped_column(String(500), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
