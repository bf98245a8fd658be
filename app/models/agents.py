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
#: What an API token may do. commerce:write is for integration tokens only (the shop's sync).
API_SCOPES = ("read", "messages:write", "calls:write", "commerce:write")
#: A person's token without explicit scopes: what agents legitimately do through the API. Tokens
#: made before scopes existed got these (migration 0003), so they lost only commerce writes.
USER_SCOPES = ("read", "messages:write", "calls:write")


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
    #: Space-separated API_SCOPES.
    scopes: Mapped[str] = mapped_column(String(200), default=" ".join(USER_SCOPES),
                                        server_default=" ".join(USER_SCOPES))
    #: The system this token belongs to ("shop-sync", "cti"); None for a person's token. The agent
    #: is then the admin who created it and answers for it (reads see what that agent sees).
    integration: Mapped[Optional[str]] = mapped_column(String(100))

    agent: Mapped[Agent] = relationship()

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset((self.scopes or "").split())

    def allows(self, scope: str) -> bool:
        """Whether this token carries `scope` (commerce:write only on an integration's token)."""
        if scope == "commerce:write" and not self.integration:
            return False
        return scope in self.scope_set

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
