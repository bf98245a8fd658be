"""Agents and API tokens: creation, password and token checks."""
from __future__ import annotations

import secrets
from typing import Optional

from sqlalchemy import select

from app import bus
from app.extensions import db, login
from app.models import API_SCOPES, ROLES, USER_SCOPES, Agent, ApiToken, utcnow


def create_agent(email: str, password: str, role: str = "agent", name: str = "",
                 team_id: Optional[int] = None) -> Agent:
    """Create (or update the password and role of) an agent."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < 8:
        raise ValueError("the password must have at least 8 characters")
    email = email.strip().lower()
    agent = db.session.scalar(select(Agent).where(Agent.email == email))
    existed = agent is not None
    if agent is None:
        agent = Agent(email=email, name=name or email.split("@")[0])
        db.session.add(agent)
    before = (agent.role, agent.team_id)
    new_password = not existed or not agent.check_password(password)
    agent.role = role
    if name:
        agent.name = name
    if team_id is not None:
        agent.team_id = team_id
    if new_password:
        agent.set_password(password)
        if existed:  # a changed password signs the old sessions out
            agent.end_sessions()
    db.session.commit()
    if existed and new_password:
        bus.publish("agent.logged_out", agent_id=agent.id)
    elif existed and before != (agent.role, agent.team_id):
        bus.publish("agent.updated", agent_id=agent.id)
    return agent


def set_agent_team(agent: Agent, team_id: Optional[int]) -> None:
    """Move the agent to another team (None: no team); their open sockets follow at once."""
    if agent.team_id == team_id:
        return
    agent.team_id = team_id
    db.session.commit()
    bus.publish("agent.updated", agent_id=agent.id)


def deactivate_agent(agent: Agent) -> None:
    """The agent can no longer sign in; their sessions and open sockets end everywhere."""
    agent.active = False
    end_sessions(agent)


def authenticate(email: str, password: str) -> Optional[Agent]:
    agent = db.session.scalar(select(Agent).where(Agent.email == (email or "").strip().lower()))
    if agent is None or not agent.active or not agent.check_password(password or ""):
        return None
    return agent


def parse_scopes(values) -> tuple[str, ...]:
    """Scopes given as strings, each possibly comma- or space-separated; ValueError if unknown."""
    scopes: list[str] = []
    for value in values or ():
        for part in str(value).replace(",", " ").split():
            if part not in API_SCOPES:
                raise ValueError(f"unknown scope {part!r}; known: {', '.join(API_SCOPES)}")
            if part not in scopes:
                scopes.append(part)
    return tuple(scopes)


def create_token(agent: Agent, name: str = "", scopes=None, integration: Optional[str] = None) -> str:
    """A new API token for `agent` (a person), or for `integration` with `agent` answering for it.

    A person's token gets USER_SCOPES unless told otherwise; an integration's token must name its
    scopes. commerce:write is refused on a person's token. Only the hash is stored: show it once.
    """
    integration = (integration or "").strip() or None
    chosen = parse_scopes(scopes) if scopes else (() if integration else USER_SCOPES)
    if not chosen:
        raise ValueError("an integration token needs at least one scope")
    if "commerce:write" in chosen and not integration:
        raise ValueError("commerce:write is for integration tokens only (give --integration NAME)")
    token = "tsu_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(agent_id=agent.id, token_hash=ApiToken.hash(token), name=name or integration or "",
                            scopes=" ".join(chosen), integration=integration))
    db.session.commit()
    return token


def token_for(token: str) -> Optional[ApiToken]:
    """The live token row (not revoked, its agent active), its last use recorded; else None."""
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == ApiToken.hash(token),
                                                   ApiToken.revoked.is_(False)))
    if row is None or not row.agent.active:
        return None
    row.last_used_at = utcnow()
    db.session.commit()
    return row


def agent_for_token(token: str) -> Optional[Agent]:
    row = token_for(token)
    return row.agent if row else None


def revoke_token(token_id: int) -> bool:
    """Revoke a token by its id; False when there is no such token."""
    row = db.session.get(ApiToken, token_id)
    if row is None:
        return False
    row.revoked = True
    db.session.commit()
    return True


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
