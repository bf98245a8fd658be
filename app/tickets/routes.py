"""Inbox and ticket page: thin views over app.tickets.queries and app.tickets.services."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth.access import get_ticket_for
from app.channels import registry
from app.customers.services import customer_page
from app.models import Ticket
from app.tickets import bp
from app.tickets.forms import ActionForm, NoteForm, ReplyForm, TicketUpdateForm, assignee_choices
from app.tickets.queries import InboxFilters, active_agents, inbox_page, status_counts
from app.tickets.services import (ActionRefused, add_note, add_reply, can_reply, retry_delivery,
                                  update_ticket)


def _agent():
    return current_user._get_current_object()


@bp.route("/")
@login_required
def inbox():
    """Tickets the agent may see, newest activity first, with filters and pages."""
    agent = _agent()
    filters = InboxFilters.from_args(request.args)
    page = inbox_page(agent, filters, current_app.config["TICKETS_PER_PAGE"])
    return render_template("tickets/inbox.html", page=page, filters=filters, channels=registry.names(),
                           counts=status_counts(agent, filters))


def _render_ticket(ticket: Ticket, status: int = 200, **forms):
    agent = _agent()
    update_form = forms.get("update_form") or TicketUpdateForm.for_ticket(ticket)
    update_form.assignee_id.choices = assignee_choices(active_agents(), _("Unassigned"))
    return render_template(
        "tickets/show.html", ticket=ticket, data=customer_page(agent, ticket.customer, ticket.id),
        reply_form=forms.get("reply_form") or ReplyForm(formdata=None),
        note_form=forms.get("note_form") or NoteForm(formdata=None), update_form=update_form,
        can_reply=can_reply(ticket),
    ), status


@bp.route("/tickets/<int:ticket_id>")
@login_required
def show(ticket_id: int):
    """The ticket with the customer's whole timeline and sidebar."""
    return _render_ticket(get_ticket_for(_agent(), ticket_id))


def _back(ticket: Ticket, anchor: str | None = None):
    return redirect(url_for("tickets.show", ticket_id=ticket.id, _anchor=anchor))


@bp.route("/tickets/<int:ticket_id>/reply", methods=["POST"])
@login_required
def reply(ticket_id: int):
    """Queue a reply to the customer."""
    ticket = get_ticket_for(_agent(), ticket_id)
    form = ReplyForm()
    if form.validate_on_submit():
        try:
            message = add_reply(_agent(), ticket, form.body.data, form.status_after.data)
        except ActionRefused as exc:
            flash(exc.translated(), "error")
        else:
            flash(_("Your reply is queued for sending."), "success")
            return _back(ticket, f"m{message.id}")
    return _render_ticket(ticket, 422, reply_form=form)


@bp.route("/tickets/<int:ticket_id>/note", methods=["POST"])
@login_required
def note(ticket_id: int):
    """Add an internal note."""
    ticket = get_ticket_for(_agent(), ticket_id)
    form = NoteForm()
    if form.validate_on_submit():
        try:
            message = add_note(_agent(), ticket, form.body.data)
        except ActionRefused as exc:
            flash(exc.translated(), "error")
        else:
            flash(_("Note added."), "success")
            return _back(ticket, f"m{message.id}")
    return _render_ticket(ticket, 422, note_form=form)


@bp.route("/tickets/<int:ticket_id>/update", methods=["POST"])
@login_required
def update(ticket_id: int):
    """Change status, priority, assignee and tags."""
    ticket = get_ticket_for(_agent(), ticket_id)
    form = TicketUpdateForm()
    form.assignee_id.choices = assignee_choices(active_agents(), _("Unassigned"))
    if form.validate_on_submit():
        try:
            changes = update_ticket(_agent(), ticket, **form.changes())
        except ActionRefused as exc:
            flash(exc.translated(), "error")
        else:
            flash(_("Ticket updated.") if changes else _("Nothing changed."), "success")
            return _back(ticket)
    return _render_ticket(ticket, 422, update_form=form)


@bp.route("/tickets/<int:ticket_id>/take", methods=["POST"])
@login_required
def take(ticket_id: int):
    """Assign the ticket to me."""
    agent = _agent()
    ticket = get_ticket_for(agent, ticket_id)
    if ActionForm().validate_on_submit():
        update_ticket(agent, ticket, assignee_id=agent.id)
        flash(_("The ticket is assigned to you."), "success")
    return _back(ticket)


@bp.route("/outbox/<int:item_id>/retry", methods=["POST"])
@login_required
def retry(item_id: int):
    """Send a failed message again."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        item = retry_delivery(_agent(), item_id)
    except LookupError:
        abort(404)
    except ActionRefused as exc:
        flash(exc.translated(), "error")
        return redirect(request.referrer or url_for("tickets.inbox"))
    flash(_("The message is queued again."), "success")
    return redirect(url_for("tickets.show", ticket_id=item.message.ticket_id, _anchor=f"m{item.message_id}"))
