"""Agents (the helpdesk's users), teams and API tokens."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Optional

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

ROLES = ("agent", "supervisor", "admin")


class Team(db.Model):
    __tablename__ = "teams"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)


class Agent(UserMixin, db.Model):
    __tablename__ = "agents"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: agent | supervisor | admin
    role: Mapped[str] = mapped_column(String(20), default="agent")
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    #: Tickets of another team are invisible to a plain agent; None = sees unassigned-team tickets only.
    team_id: Mapped[Optional[int]] = mapped_column(ForeignKey("teams.id"))
    #: Preferred UI language ('ja' / 'en'); None follows the browser.
    locale: Mapped[Optional[str]] = mapped_column(String(5))
    active: Mapped[bool] = mapped_column(default=True)
    #: Part of the login session id; rotated on logout so every copy of the old session cookie
    #: (another tab, an open Socket.IO connection) stops working at once.
    session_token: Mapped[str] = mapped_column(String(32), default=lambda: secrets.token_hex(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    team: Mapped[Optional[Team]] = relationship()

    def get_id(self) -> str:  # Flask-Login: what the session cookie stores
        return f"{self.id}.{self.session_token}"

    def end_sessions(self) -> None:
        """Invalidate every session of this agent (the caller commits)."""
        self.session_token = secrets.token_hex(16)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def is_supervisor(self) -> bool:
        return self.role in ("supervisor", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def __repr__(self) -> str:
        return f"<Agent {self.email} {self.role}>"


class ApiToken(db.Model):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(default=False)

    agent: Mapped[Agent] = relationship()

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
