"""Call logging form for agents, and the signed webhook for phone systems."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth.access import get_customer_for, get_ticket_for
from app.calls import bp
from app.calls.forms import CallForm
from app.calls.services import (SIGNATURE_HEADER, TIMESTAMP_HEADER, CallInput, complete_task,
                                customer_for_number, log_call, parse_time, verify_signature)
from app.extensions import csrf, db
from app.ingest import IngestError
from app.models import Task


def _aware(value):
    return value.replace(tzinfo=ZoneInfo(current_app.config["TIMEZONE"])) if value else None


@bp.route("/calls/new", methods=["GET", "POST"])
@login_required
def new_call():
    """Log a phone call from the customer or ticket page."""
    ticket = get_ticket_for(current_user, request.args.get("ticket_id", type=int)) \
        if request.args.get("ticket_id") else None
    customer = ticket.customer if ticket else (
        get_customer_for(current_user, request.args.get("customer_id", type=int))
        if request.args.get("customer_id") else None)
    form = CallForm()
    if request.method == "GET" and form.started_at.data is None:
        # A call is usually logged right after it ends: now, on the shop's clock (minutes only).
        form.started_at.data = datetime.now(ZoneInfo(current_app.config["TIMEZONE"])).replace(
            second=0, microsecond=0, tzinfo=None)
    if request.method == "GET" and customer is not None:
        phone = customer.identity("phone")
        form.number.data = phone.display if phone else ""
    known = customer_for_number(form.number.data) if form.number.data else None
    if form.validate_on_submit():
        attach = form.attach_to_customer_id.data if form.customer_choice.data == "attach" else None
        if attach is None and customer is not None and known is None:
            attach = customer.id
        call = CallInput(
            number=form.number.data, direction=form.direction.data,
            started_at=_aware(form.started_at.data), duration_seconds=(form.duration_minutes.data or 0) * 60,
            summary=form.summary.data, outcome=form.outcome.data,
            follow_up_at=_aware(form.follow_up_at.data), attach_to_customer_id=attach,
            ticket_id=ticket.id if ticket else None)
        try:
            message, _created = log_call(call, agent_id=current_user.id)
        except IngestError as exc:
            for field, problem in exc.errors.items():
                flash(f"{field}: {problem}", "error")
        else:
            flash(_("The call was logged."), "info")
            return redirect(url_for("tickets.show", ticket_id=message.ticket_id))
    return render_template("calls/new.html", form=form, ticket=ticket, customer=customer, known=known)


@bp.route("/tasks/<int:task_id>/done", methods=["POST"])
@login_required
def task_done(task_id: int):
    """Mark a follow-up as kept."""
    task = db.session.get(Task, task_id)
    if task is None or (task.ticket_id and get_ticket_for(current_user, task.ticket_id) is None):
        abort(404)
    complete_task(task)
    return redirect(request.referrer or url_for("tickets.inbox"))


@bp.route("/hooks/calls", methods=["POST"])
@csrf.exempt
def calls_webhook():
    """A phone system logs a call: HMAC-SHA256 signed body, timestamp within 5 minutes."""
    body = request.get_data(cache=True)
    problem = verify_signature(current_app.config.get("CALLS_WEBHOOK_SECRET"),
                               request.headers.get(TIMESTAMP_HEADER, ""),
                               request.headers.get(SIGNATURE_HEADER, ""), body)
    if problem:
        current_app.logger.warning("calls webhook refused: %s", problem)
        return jsonify(error="unauthorized", message="invalid signature or timestamp"), 401
    try:
        data = json.loads(body)
        call = CallInput(
            number=str(data["number"]), direction=data.get("direction", "inbound"),
            started_at=parse_time(data.get("started_at")) or parse_time(data["started_at"]),
            duration_seconds=int(data.get("duration_seconds", 0)), summary=str(data.get("summary", "")),
            outcome=data.get("outcome", "resolved"), follow_up_at=parse_time(data.get("follow_up_at")),
            call_id=str(data["call_id"]), caller_name=str(data.get("caller_name", "")))
    except (ValueError, KeyError, TypeError) as exc:
        return jsonify(error="validation", message=f"bad call payload: {exc}"), 422
    try:
        message, created = log_call(call)
    except IngestError as exc:
        return jsonify(error="validation", fields=exc.errors), 422
    return jsonify(status="created" if created else "duplicate", message_id=message.id,
                   ticket_id=message.ticket_id, customer_id=message.customer_id), 201 if created else 200
