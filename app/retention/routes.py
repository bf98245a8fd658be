"""Retention panel routes: flag / clear / reason / outcome, execute and retry actions.

Every route loads the ticket through get_ticket_for (404 when the agent may not see it), calls one
service function and redirects back to the page the panel was on.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from app.auth.access import get_ticket_for
from app.retention import bp, cases, panel, services
from app.retention.actions import ActionError
from app.retention.cases import CaseError
from app.retention.forms import ActionForm, FlagForm, OutcomeForm, PlainForm, ReasonForm


def _agent():
    return current_user._get_current_object()


def _back(ticket_id: int):
    target = request.form.get("next") or ""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = url_for("tickets.show", ticket_id=ticket_id)
    return redirect(target + "#retention")


def _form_errors(form) -> None:
    for field, errors in form.errors.items():
        for error in errors:
            flash(f"{getattr(form, field).label.text if hasattr(form, field) else field}: {error}", "error")


@bp.record_once
def _register_globals(state) -> None:
    state.app.jinja_env.globals.update(panel.template_globals())


@bp.app_template_global("retention_panel")
def retention_panel(ticket, subscription_id=None, summary=None) -> Markup:
    """Render the panel for `ticket` (use `{{ retention_panel(ticket) }}` on the ticket page; pass
    `summary=` the customer's CommerceSummary when the page already has it)."""
    subscription_id = subscription_id or request.args.get("subscription_id")
    return Markup(render_template("retention/_panel.html",
                                  retention=panel.build(ticket, subscription_id, summary)))


@bp.route("/tickets/<int:ticket_id>/retention")
@login_required
def show(ticket_id: int):
    """The panel on a page of its own (and, with ?partial=1, the fragment for live refresh)."""
    ticket = get_ticket_for(_agent(), ticket_id)
    data = panel.build(ticket, request.args.get("subscription_id"))
    if request.args.get("partial"):
        return render_template("retention/_panel.html", retention=data)
    return render_template("retention/page.html", ticket=ticket, retention=data)


@bp.route("/tickets/<int:ticket_id>/retention/flag", methods=["POST"])
@login_required
def flag(ticket_id: int):
    """Mark the ticket as a cancellation request the rules missed."""
    ticket = get_ticket_for(_agent(), ticket_id)
    form = FlagForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return _back(ticket.id)
    try:
        when = None
        if form.requested_at.data:
            when = datetime.fromisoformat(form.requested_at.data).replace(
                tzinfo=ZoneInfo(current_app.config["TIMEZONE"]))
        cases.flag_manually(_agent(), ticket, form.reason.data, when)
    except ValueError as exc:
        flash(getattr(exc, "message", None) or _("The request time is not a date and time."), "error")
    else:
        flash(_("Marked as a cancellation request."), "success")
    return _back(ticket.id)


@bp.route("/tickets/<int:ticket_id>/retention/clear", methods=["POST"])
@login_required
def clear(ticket_id: int):
    """'Not a cancellation': remove a false flag in one click."""
    ticket = get_ticket_for(_agent(), ticket_id)
    if PlainForm().validate_on_submit():
        try:
            cases.clear_intent(_agent(), ticket)
        except CaseError as exc:
            flash(exc.message, "error")
        else:
            flash(_("The cancellation flag is cleared."), "success")
    return _back(ticket.id)


@bp.route("/tickets/<int:ticket_id>/retention/reason", methods=["POST"])
@login_required
def reason(ticket_id: int):
    """Correct the detected reason."""
    ticket = get_ticket_for(_agent(), ticket_id)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            cases.set_reason(_agent(), ticket, form.reason.data)
        except CaseError as exc:
            flash(exc.message, "error")
    else:
        _form_errors(form)
    return _back(ticket.id)


@bp.route("/tickets/<int:ticket_id>/retention/outcome", methods=["POST"])
@login_required
def outcome(ticket_id: int):
    """Record the outcome by hand."""
    ticket = get_ticket_for(_agent(), ticket_id)
    form = OutcomeForm()
    if form.validate_on_submit():
        try:
            services.record_manual_outcome(_agent(), ticket, form.outcome.data, form.note.data or "")
        except CaseError as exc:
            flash(exc.message, "error")
        else:
            flash(_("Outcome recorded."), "success")
    else:
        _form_errors(form)
    return _back(ticket.id)


@bp.route("/tickets/<int:ticket_id>/retention/actions", methods=["POST"])
@login_required
def execute(ticket_id: int):
    """Execute one action of the ladder (one click); refused when the panel was out of date."""
    ticket = get_ticket_for(_agent(), ticket_id)
    form = ActionForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return _back(ticket.id)
    try:
        result = services.execute(_agent(), ticket, form.kind.data, form.params(), form.subscription_id.data,
                                  form.note.data or "", form.key.data or "",
                                  version=services.seen_version(form.version.data))
    except ActionError as exc:
        flash(exc.message, "error")
    else:
        failed = result.action is not None and result.action.backend_status == "failed"
        flash(result.message, "error" if failed else "success")
    return _back(ticket.id)


@bp.route("/tickets/<int:ticket_id>/retention/actions/<int:action_id>/retry", methods=["POST"])
@login_required
def retry(ticket_id: int, action_id: int):
    """Send a failed action to the shop again."""
    ticket = get_ticket_for(_agent(), ticket_id)
    if not PlainForm().validate_on_submit():
        abort(400)
    try:
        result = services.retry_failed(_agent(), ticket, action_id)
    except ActionError as exc:
        flash(exc.message, "error")
    else:
        flash(result.message, "success" if result.action.backend_status != "failed" else "error")
    return _back(ticket.id)
