"""Agents and API tokens: creation, password and token checks."""
from __future__ import annotations

import secrets
from typing import Optional

from sqlalchemy import select

from app import bus
from app.extensions import db, login
from app.models import ROLES, Agent, ApiToken, utcnow


def create_agent(email: str, password: str, role: str = "agent", name: str = "",
                 team_id: Optional[int] = None) -> Agent:
    """Create (or update the password and role of) an agent."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise ValueError("the password must have at least 8 characters")
    email = email.strip().lower()
    agent = db.session.scalar(select(Agent).where(Agent.email == email))
    if agent is None:
        agent = Agent(email=email, name=name or email.split("@")[0])
        db.session.add(agent)
    agent.role = role
    if name:
        agent.name = name
    if team_id is not None:
        agent.team_id = team_id
    agent.set_password(password)
    db.session.commit()
    return agent


def authenticate(email: str, password: str) -> Optional[Agent]:
    agent = db.session.scalar(select(Agent).where(Agent.email == (email or "").strip().lower()))
    if agent is None or not agent.active or not agent.check_password(password or ""):
        return None
    return agent


def create_token(agent: Agent, name: str = "") -> str:
    """A new API token for `agent`; only its hash is stored, so show it once."""
    token = "tsu_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(agent_id=agent.id, token_hash=ApiToken.hash(token), name=name))
    db.session.commit()
    return token


def agent_for_token(token: str) -> Optional[Agent]:
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == ApiToken.hash(token),
                                                   ApiToken.revoked.is_(False)))
    if row is None or not row.agent.active:
        return None
    row.last_used_at = utcnow()
    db.session.commit()
    return row.agent


@login.user_loader
def _load_agent(session_id: str) -> Optional[Agent]:
    """The agent of a session id '<id>.<session_token>'; None once the token was rotated."""
    agent_id, _, token = (session_id or "").partition(".")
    if not agent_id.isdigit():
        return None
    agent = db.session.get(Agent, int(agent_id))
    if agent is None or not agent.active or not secrets.compare_digest(agent.session_token, token):
        return None
    return agent


def end_sessions(agent: Agent) -> None:
    """Log the agent out everywhere (all browsers, all open sockets)."""
    agent.end_sessions()
    db.session.commit()
    bus.publish("agent.logged_out", agent_id=agent.id)
