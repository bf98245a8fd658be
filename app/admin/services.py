"""Users and teams as an admin changes them: create or invite, roles, teams, deactivate, reset.

Rules kept here, not in the views: an admin cannot deactivate or demote themselves, and the last
active admin cannot be deactivated or demoted. Deactivating a user or resetting their password
ends every session they have (auth.services.end_sessions also closes their open sockets).
A set-password link is signed and bound to the current password hash, so it works once.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Optional

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from app import bus
from app.auth.services import deactivate_agent, end_sessions
from app.extensions import db
from app.i18n import N_, Refused
from app.models import ROLES, Agent, ApiToken, Team

_SALT = "tsunagu.set-password"
#: How long an invitation or reset link stays usable.
LINK_MAX_AGE = 3 * 24 * 3600


class AdminRefused(Refused):
    """A change that must not happen; str() is English, `translated()` is for the admin."""


@dataclass(frozen=True)
class UserRow:
    agent: Agent
    tokens: int
    last_token_use: object


def list_users() -> list[UserRow]:
    """Every user with their team, live API token count and the last use of any of their tokens."""
    counts = dict(db.session.execute(
        select(ApiToken.agent_id, func.count()).where(ApiToken.revoked.is_(False)).group_by(ApiToken.agent_id)).all())
    last = dict(db.session.execute(
        select(ApiToken.agent_id, func.max(ApiToken.last_used_at)).group_by(ApiToken.agent_id)).all())
    agents = db.session.scalars(select(Agent).order_by(Agent.active.desc(), Agent.name, Agent.id))
    return [UserRow(a, counts.get(a.id, 0), last.get(a.id)) for a in agents]


def user_tokens(agent: Agent) -> list[ApiToken]:
    """The user's API tokens (live first) with scopes and last use; revoking is on /admin/tokens."""
    return list(db.session.scalars(select(ApiToken).where(ApiToken.agent_id == agent.id)
                                   .order_by(ApiToken.revoked, ApiToken.id.desc())))


def get_user(agent_id: int) -> Optional[Agent]:
    return db.session.get(Agent, agent_id)


def _team_id(team_id: Optional[int]) -> Optional[int]:
    if not team_id:
        return None
    if db.session.get(Team, team_id) is None:
        raise AdminRefused(N_("Team #%(id)s does not exist."), id=team_id)
    return team_id


def create_user(email: str, name: str, role: str, team_id: Optional[int] = None,
                password: Optional[str] = None) -> Agent:
    """A new user; without a password they cannot sign in until they follow a set-password link."""
    email = (email or "").strip().lower()
    if role not in ROLES:
        raise AdminRefused(N_("Unknown role."))
    if db.session.scalar(select(Agent.id).where(Agent.email == email)) is not None:
        raise AdminRefused(N_("A user with the address %(email)s already exists."), email=email)
    if password is not None and len(password) < 8:
        raise AdminRefused(N_("The password must have at least 8 characters."))
    agent = Agent(email=email, name=(name or "").strip() or email.split("@")[0], role=role,
                  team_id=_team_id(team_id))
    if password:
        agent.set_password(password)
    db.session.add(agent)
    db.session.commit()
    return agent


def _other_active_admins(agent: Agent) -> int:
    return db.session.scalar(select(func.count()).select_from(Agent).where(
        Agent.role == "admin", Agent.active.is_(True), Agent.id != agent.id)) or 0


def update_user(actor: Agent, agent: Agent, name: str, role: str, team_id: Optional[int]) -> Agent:
    """Change name, role and team; an admin keeps their own role, and one admin always remains."""
    if role not in ROLES:
        raise AdminRefused(N_("Unknown role."))
    if agent.role == "admin" and role != "admin":
        if agent.id == actor.id:
            raise AdminRefused(N_("You cannot take away your own admin role."))
        if agent.active and not _other_active_admins(agent):
            raise AdminRefused(N_("This is the last admin; make someone else admin first."))
    before = (agent.role, agent.team_id)
    agent.name = (name or "").strip() or agent.name
    agent.role = role
    agent.team_id = _team_id(team_id)
    db.session.commit()
    if before != (agent.role, agent.team_id):
        bus.publish("agent.updated", agent_id=agent.id)  # their open sockets leave rooms they lost
    return agent


def set_active(actor: Agent, agent: Agent, active: bool) -> Agent:
    """Deactivate (sign-in refused, every session ended) or reactivate a user."""
    if not active:
        if agent.id == actor.id:
            raise AdminRefused(N_("You cannot deactivate yourself."))
        if agent.role == "admin" and not _other_active_admins(agent):
            raise AdminRefused(N_("This is the last admin; make someone else admin first."))
    if active:
        agent.active = True
        db.session.commit()
    else:
        deactivate_agent(agent)  # commits, then ends every browser session and open socket
    return agent


def reset_password(actor: Agent, agent: Agent) -> str:
    """Clear the password, end every session and return a one-time set-password token."""
    if agent.id == actor.id:
        raise AdminRefused(N_("You cannot reset your own password here."))
    agent.password_hash = ""
    end_sessions(agent)
    return password_token(agent)


# --- one-time set-password links ---------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _fingerprint(agent: Agent) -> str:
    """Changes whenever the password is set, so a used link stops working."""
    return hashlib.sha256(f"{agent.id}:{agent.password_hash}".encode()).hexdigest()[:20]


def password_token(agent: Agent) -> str:
    return _serializer().dumps([agent.id, _fingerprint(agent)])


def agent_for_password_token(token: str) -> Optional[Agent]:
    """The active user a set-password token is for; None when forged, expired or already used."""
    try:
        agent_id, fingerprint = _serializer().loads(token, max_age=LINK_MAX_AGE)
    except (BadSignature, SignatureExpired, ValueError, TypeError):
        return None
    agent = db.session.get(Agent, agent_id) if isinstance(agent_id, int) else None
    if agent is None or not agent.active or fingerprint != _fingerprint(agent):
        return None
    return agent


def set_password_with_token(token: str, password: str) -> Optional[Agent]:
    """Set the password of the link's user (which uses up the link); None for a dead link."""
    agent = agent_for_password_token(token)
    if agent is None:
        return None
    if len(password) < 8:
        raise AdminRefused(N_("The password must have at least 8 characters."))
    agent.set_password(password)
    end_sessions(agent)
    return agent


# --- teams -------------------------------------------------------------------------------------

def list_teams() -> list[tuple[Team, int]]:
    """Teams with their number of active members."""
    counts = dict(db.session.execute(select(Agent.team_id, func.count()).where(Agent.active.is_(True))
                                     .group_by(Agent.team_id)).all())
    return [(t, counts.get(t.id, 0)) for t in db.session.scalars(select(Team).order_by(Team.name))]


def get_team(team_id: int) -> Optional[Team]:
    return db.session.get(Team, team_id)


def save_team(name: str, team: Optional[Team] = None) -> Team:
    """Create a team, or rename `team`; names are unique."""
    name = (name or "").strip()
    if not name:
        raise AdminRefused(N_("A team needs a name."))
    clash = db.session.scalar(select(Team).where(Team.name == name))
    if clash is not None and clash is not team:
        raise AdminRefused(N_("A team called %(name)s already exists."), name=name)
    if team is None:
        team = Team(name=name)
        db.session.add(team)
    team.name = name
    db.session.commit()
    return team
