"""Listening view (any agent) and the X budget page (supervisors): thin views over services.py."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth.access import supervisor_required
from app.social import bp
from app.social.forms import ListeningActionForm
from app.social.services import (ListeningError, dismiss, listening_page, listening_warnings, make_ticket,
                                 restore, usage_overview)


def _back():
    return redirect(url_for("social.listening", status=request.args.get("status", "new"),
                            page=request.args.get("page", 1, type=int)))


@bp.route("/listening")
@login_required
def listening():
    """Posts naming the brand without mentioning the account, waiting for a decision."""
    page = listening_page(request.args.get("status", "new"), request.args.get("page", 1, type=int))
    return render_template("social/listening.html", page=page, form=ListeningActionForm(formdata=None),
                           warnings=listening_warnings())


@bp.route("/listening/<int:post_id>/ticket", methods=["POST"])
@login_required
def to_ticket(post_id: int):
    """Make a ticket of the post (through the ingest path) and open it."""
    if not ListeningActionForm().validate_on_submit():
        abort(400)
    try:
        ticket_id = make_ticket(current_user._get_current_object(), post_id)
    except LookupError:
        abort(404)
    except ListeningError as exc:
        flash(str(exc), "error")
        return _back()
    flash(_("The post is now ticket #%(id)d.", id=ticket_id), "success")
    return redirect(url_for("tickets.show", ticket_id=ticket_id))


@bp.route("/listening/<int:post_id>/dismiss", methods=["POST"])
@login_required
def dismiss_post(post_id: int):
    """Dismiss the post (no answer needed)."""
    if not ListeningActionForm().validate_on_submit():
        abort(400)
    try:
        dismiss(current_user._get_current_object(), post_id)
    except LookupError:
        abort(404)
    except ListeningError as exc:
        flash(str(exc), "error")
    return _back()


@bp.route("/listening/<int:post_id>/restore", methods=["POST"])
@login_required
def restore_post(post_id: int):
    """Bring a dismissed post back to the list."""
    if not ListeningActionForm().validate_on_submit():
        abort(400)
    try:
        restore(current_user._get_current_object(), post_id)
    except LookupError:
        abort(404)
    return _back()


@bp.route("/x/usage")
@supervisor_required
def usage():
    """This month's X API reads and writes against the plan's caps, and the pollers' state."""
    return render_template("social/usage.html", overview=usage_overview(current_app.config))
