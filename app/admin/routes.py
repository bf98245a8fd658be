"""Admin area routes: hub, users, teams, channel status, and the public set-password page.

Every route checks its role: the hub and channel status are for supervisors and admins, users
and teams for admins only; changes also need a fresh sign-in.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectChoice

from app.admin import bp
from app.admin import services
from app.admin.forms import NewUserForm, SetPasswordForm, TeamForm, UserForm
from app.admin.mail import send_password_link, set_password_url
from app.auth.access import supervisor_required
from app.channels.state import states
from app.security.fresh import fresh_login_required
from app.security.tokens import admin_required


def _team_choices(form) -> None:
    form.team_id.choices = [SelectChoice(0, _("No team"))] + [
        SelectChoice(t.id, t.name) for t, _n in services.list_teams()]


def _user_or_404(agent_id: int):
    agent = services.get_user(agent_id)
    if agent is None:
        abort(404)
    return agent


def _link_sent(agent, token: str, invitation: bool) -> None:
    """Mail the link; if that fails, show it to the admin once so they can pass it on."""
    error = send_password_link(agent, token, invitation)
    if error is None:
        flash(_("A set-password link was mailed to %(email)s.", email=agent.email), "success")
    else:
        flash(_("The mail to %(email)s could not be sent; give them this link yourself: %(url)s",
                email=agent.email, url=set_password_url(token)), "error")


@bp.get("/admin")
@supervisor_required
def hub():
    """Settings hub: every settings page in one place."""
    return render_template("admin/hub.html")


@bp.get("/admin/users")
@admin_required
def users():
    """Users with role, team, status and API tokens."""
    return render_template("admin/users.html", rows=services.list_users(), form=FlaskForm())


@bp.route("/admin/users/new", methods=["GET", "POST"])
@admin_required
@fresh_login_required
def user_new():
    """Create a user, or invite them by email."""
    form = NewUserForm()
    _team_choices(form)
    if form.validate_on_submit():
        invite = form.mode.data == "invite"
        try:
            agent = services.create_user(form.email.data, form.name.data, form.role.data, form.team_id.data,
                                         password=None if invite else (form.password.data or ""))
        except services.AdminRefused as exc:
            flash(exc.translated(), "error")
        else:
            if invite:
                _link_sent(agent, services.password_token(agent), invitation=True)
            else:
                flash(_("%(name)s can sign in now.", name=agent.name), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_new.html", form=form)


@bp.route("/admin/users/<int:agent_id>", methods=["GET", "POST"])
@admin_required
@fresh_login_required
def user_edit(agent_id: int):
    """Name, role and team of a user; deactivate and password reset are buttons on this page."""
    agent = _user_or_404(agent_id)
    form = UserForm(obj=agent)
    _team_choices(form)
    if not form.is_submitted():
        form.team_id.data = agent.team_id or 0
    if form.validate_on_submit():
        try:
            services.update_user(current_user, agent, form.name.data, form.role.data, form.team_id.data)
        except services.AdminRefused as exc:
            flash(exc.translated(), "error")
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_edit.html", agent=agent, form=form, action=FlaskForm(),
                           tokens=services.user_tokens(agent))


@bp.post("/admin/users/<int:agent_id>/active")
@admin_required
@fresh_login_required
def user_active(agent_id: int):
    """Deactivate or reactivate (form field `active` = 1 / 0)."""
    agent = _user_or_404(agent_id)
    form = FlaskForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.set_active(current_user, agent, request.form.get("active") == "1")
    except services.AdminRefused as exc:
        flash(exc.translated(), "error")
    else:
        flash(_("%(name)s was reactivated.", name=agent.name) if agent.active
              else _("%(name)s was deactivated and signed out everywhere.", name=agent.name), "success")
    return redirect(url_for("admin.user_edit", agent_id=agent.id))


@bp.post("/admin/users/<int:agent_id>/reset")
@admin_required
@fresh_login_required
def user_reset(agent_id: int):
    """Clear the password, sign the user out and mail them a set-password link."""
    agent = _user_or_404(agent_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        token = services.reset_password(current_user, agent)
    except services.AdminRefused as exc:
        flash(exc.translated(), "error")
    else:
        _link_sent(agent, token, invitation=False)
    return redirect(url_for("admin.user_edit", agent_id=agent.id))


@bp.route("/admin/teams", methods=["GET", "POST"])
@admin_required
@fresh_login_required
def teams():
    """Teams and their member counts; add a team."""
    form = TeamForm()
    if form.validate_on_submit():
        try:
            services.save_team(form.name.data)
        except services.AdminRefused as exc:
            flash(exc.translated(), "error")
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("admin.teams"))
    return render_template("admin/teams.html", teams=services.list_teams(), form=form)


@bp.post("/admin/teams/<int:team_id>")
@admin_required
@fresh_login_required
def team_rename(team_id: int):
    """Rename a team."""
    team = services.get_team(team_id)
    if team is None:
        abort(404)
    form = TeamForm()
    if not form.validate_on_submit():
        flash(_("A team needs a name."), "error")
        return redirect(url_for("admin.teams"))
    try:
        services.save_team(form.name.data, team)
    except services.AdminRefused as exc:
        flash(exc.translated(), "error")
    else:
        flash(_("Saved."), "success")
    return redirect(url_for("admin.teams"))


@bp.get("/admin/channels")
@supervisor_required
def channels():
    """Mailboxes and X accounts: last successful poll and last error (read-only)."""
    return render_template("admin/channels.html", states=states())


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str):
    """Public: choose a password through an invitation or reset link (works once)."""
    agent = services.agent_for_password_token(token)
    if agent is None:
        return render_template("admin/set_password.html", form=None), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        services.set_password_with_token(token, form.password.data)
        flash(_("Your password is set. Sign in with it."), "success")
        return redirect(url_for("auth.login"))
    return render_template("admin/set_password.html", form=form, agent=agent)
