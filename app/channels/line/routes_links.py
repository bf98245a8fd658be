"""The agent links a LINE chat to the shop's customer from the ticket, and LINE profile pictures.

GET /tickets/<id>/line/link looks the customer up by member id or order number and shows both
sides; POST confirms (CSRF). Both need the agent to see the ticket, and the ticket to be a LINE
chat. The merge it makes is undoable from the member's page like any merge.
"""
from __future__ import annotations

from io import BytesIO

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth.access import get_customer_for, get_ticket_for
from app.channels.line import links
from app.channels.line.forms import LinkConfirmForm, LinkLookupForm
from app.channels.line.pictures import ensure_picture
from app.channels.line.routes import bp
from app.extensions import db
from app.models import Identity


def _line_ticket(ticket_id: int):
    ticket = get_ticket_for(current_user._get_current_object(), ticket_id)
    identity = ticket.customer.identity("line")
    if ticket.channel != "line" or identity is None:
        abort(404)
    return ticket, identity


@bp.get("/tickets/<int:ticket_id>/line/link")
@login_required
def link_preview(ticket_id: int):
    """Who the member id / order number names, beside the LINE customer, before linking."""
    ticket, identity = _line_ticket(ticket_id)
    form = LinkLookupForm(request.args)
    try:
        target = links.find_target(form.member_id.data, form.order_number.data)
    except links.LinkRefused as exc:
        flash(exc.translated(), "error")
        return redirect(url_for("tickets.show", ticket_id=ticket.id))
    confirm = LinkConfirmForm(formdata=None, via=target.via, key=target.key)
    return render_template("line/link.html", ticket=ticket, identity=identity, target=target,
                           same=target.customer.id == ticket.customer_id, confirm=confirm)


@bp.post("/tickets/<int:ticket_id>/line/link")
@login_required
def link(ticket_id: int):
    """Link the ticket's LINE user to the customer found by member id or order number."""
    ticket, identity = _line_ticket(ticket_id)
    form = LinkConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        target = links.find_target(**{form.via.data: form.key.data})
        get_customer_for(current_user._get_current_object(), target.customer.id)
        result = links.link(current_user._get_current_object(), identity.value, target, "agent")
    except links.LinkRefused as exc:
        flash(exc.translated(), "error")
        return redirect(url_for("tickets.show", ticket_id=ticket.id))
    if result.status == "unchanged":
        flash(_("This LINE user was already linked to that customer."), "info")
    else:
        flash(_("The LINE user is linked to customer #%(id)s: one timeline now.", id=result.customer_id),
              "success")
    return redirect(url_for("tickets.show", ticket_id=ticket_id))


@bp.get("/line/identities/<int:identity_id>/picture")
@login_required
def picture(identity_id: int):
    """A profile picture's small copy (made on first view, a JPEG re-encoded by Pillow), for agents."""
    identity = db.session.get(Identity, identity_id)
    if identity is None:
        abort(404)
    get_customer_for(current_user._get_current_object(), identity.customer_id)
    if not ensure_picture(identity):
        abort(404)
    response = send_file(BytesIO(identity.picture), mimetype=identity.picture_type, max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response
