"""Inbox and ticket page: thin views over app.tickets.queries and app.tickets.services."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import joinedload

from app.auth.access import get_ticket_for
from app.channels import registry
from app.calls.services import open_tasks
from app.customers.services import customer_page
from app.customers.timeline import TimelineGroup, ticket_entries
from app.macros.checks import active_terms
from app.extensions import db
from app.models import Customer, Ticket
from app.tickets import bp
from app.tickets.forms import ActionForm, NoteForm, ReplyForm, TicketUpdateForm, assignee_choices
from app.tickets.queries import (InboxFilters, active_agents, failed_count, flagged_tickets, inbox_page,
                                 latest_ids, status_counts, timeline_channels, undelivered_among)
from app.tickets.services import (ActionRefused, ConfirmationNeeded, add_note, add_reply, can_reply,
                                  mark_delivery_handled, retry_delivery, update_ticket)


def _agent():
    return current_user._get_current_object()


@bp.route("/")
@login_required
def inbox():
    """Tickets the agent may see, newest activity first, with filters and pages (?partial=1: the
    list and counts only, for live refreshes)."""
    agent = _agent()
    filters = InboxFilters.from_args(request.args)
    counts = status_counts(agent, filters)
    page = inbox_page(agent, filters, current_app.config["TICKETS_PER_PAGE"], counts)
    template = "tickets/_inbox_layout.html" if request.args.get("partial") else "tickets/inbox.html"
    return render_template(template, page=page, filters=filters, channels=registry.names(),
                           counts=counts, tasks=open_tasks(agent.id),
                           flagged=flagged_tickets(agent, filters), failed_total=failed_count(agent, filters),
                           undelivered=undelivered_among(t.id for t in page.items))


def _ticket_customer(ticket: Ticket) -> Customer:
    """The ticket's customer with the identities the sidebar lists, in one query."""
    return db.session.get(Customer, ticket.customer_id, options=[joinedload(Customer.identities)])


def _render_ticket(ticket: Ticket, status: int = 200, confirmation=None, **forms):
    agent = _agent()
    channel = request.args.get("channel") if registry.is_known(request.args.get("channel", "")) else None
    # The customer page first: its timeline loads this ticket's tags and assignee with the others'.
    data = customer_page(agent, _ticket_customer(ticket), ticket.id, channel)
    update_form = forms.get("update_form") or TicketUpdateForm.for_ticket(ticket)
    update_form.assignee_id.choices = assignee_choices(active_agents(), _("Unassigned"))
    marks = latest_ids(ticket)
    reply_form = forms.get("reply_form")
    if reply_form is None:
        reply_form = ReplyForm(formdata=None)
        reply_form.seen_message_id.data = str(marks["message"])
    return render_template(
        "tickets/show.html", ticket=ticket, data=data,
        reply_form=reply_form, note_form=forms.get("note_form") or NoteForm(formdata=None),
        update_form=update_form, can_reply=can_reply(ticket), confirmation=confirmation,
        marks=marks, channel_filter=channel, check_terms=active_terms(),
        timeline_channels=timeline_channels(data.tickets),
        tasks=[t for t in open_tasks(agent.id) if t.customer_id == ticket.customer_id],
    ), status


@bp.route("/tickets/<int:ticket_id>")
@login_required
def show(ticket_id: int):
    """The ticket with the customer's whole timeline and sidebar."""
    return _render_ticket(get_ticket_for(_agent(), ticket_id))


@bp.route("/tickets/<int:ticket_id>/timeline/entries")
@login_required
def timeline_entries(ticket_id: int):
    """Timeline entries of the ticket newer than ?after= (message id) and ?after_event= (event id),
    or the one ?message_id= (re-rendered after a delivery status change): for live updates."""
    ticket = get_ticket_for(_agent(), ticket_id)
    entries = ticket_entries(ticket, after_message_id=request.args.get("after", 0, type=int),
                             after_event_id=request.args.get("after_event", 0, type=int),
                             message_id=request.args.get("message_id", type=int))
    return render_template("tickets/_entries.html", entries=entries)


@bp.route("/tickets/<int:ticket_id>/head")
@login_required
def head(ticket_id: int):
    """The header badges (status, priority, tags, assignee), refreshed live."""
    return render_template("tickets/_head_badges.html", ticket=get_ticket_for(_agent(), ticket_id))


@bp.route("/tickets/<int:ticket_id>/timeline/group")
@login_required
def timeline_group(ticket_id: int):
    """The ticket as a collapsed group of another page's timeline (a new ticket of the customer)."""
    ticket = get_ticket_for(_agent(), ticket_id)
    group = TimelineGroup(ticket=ticket, entries=ticket_entries(ticket))
    return render_template("tickets/_group.html", group=group)


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
            message = add_reply(_agent(), ticket, form.body.data, form.status_after.data,
                                seen_message_id=form.seen_id(), confirmed=form.confirm.data == "1",
                                images=form.image_files())
        except ConfirmationNeeded as exc:
            return _render_ticket(ticket, 409, reply_form=form, confirmation=exc)
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


def _outbox_action(item_id: int, action, done: str):
    """Run `action(agent, item_id)` on one outbox row of a ticket the agent may see."""
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        item = action(_agent(), item_id)
    except LookupError:
        abort(404)
    except ActionRefused as exc:
        flash(exc.translated(), "error")
        return redirect(request.referrer or url_for("tickets.inbox"))
    flash(done, "success")
    return redirect(url_for("tickets.show", ticket_id=item.message.ticket_id, _anchor=f"m{item.message_id}"))


@bp.route("/outbox/<int:item_id>/retry", methods=["POST"])
@login_required
def retry(item_id: int):
    """Send a failed message again."""
    return _outbox_action(item_id, retry_delivery, _("The message is queued again."))


@bp.route("/outbox/<int:item_id>/handled", methods=["POST"])
@login_required
def handled(item_id: int):
    """A failed or unconfirmed message was dealt with another way."""
    return _outbox_action(item_id, mark_delivery_handled, _("Marked as handled."))


@bp.route("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico on every page; answer with the small icon, cached a day."""
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                               max_age=86400)
