"""Supervisor pages: SLA policies, opening hours and closed days, and the live at-risk list."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.auth.access import supervisor_required
from app.security.fresh import fresh_login_required
from app.extensions import db
from app.models import SLAPolicy
from app.sla import bp, policies
from app.sla.forms import ClosedDayForm, HoursForm, PolicyForm
from app.sla.views import (RULE_LABELS, at_risk_rows, clock_view, customer_satisfaction, hours_text,
                           sla_states)


@bp.app_template_global("sla_clock")
def _sla_clock(ticket):
    """The ticket's clock for templates: see sla/_ticket_clock.html."""
    return clock_view(ticket)


@bp.app_template_global("sla_states")
def _sla_states(tickets):
    """{ticket_id: state} for a page of tickets in one query: see sla/_badge.html."""
    return sla_states([t.id if hasattr(t, "id") else t for t in tickets])


bp.record_once(lambda state: state.app.jinja_env.globals.update(SLA_RULE_LABELS=RULE_LABELS))


@bp.app_template_global("customer_satisfaction")
def _customer_satisfaction(customer_id):
    return customer_satisfaction(customer_id)


@bp.route("/policies", methods=["GET", "POST"])
@supervisor_required
@fresh_login_required
def policy_list():
    """SLA policies and a form to add one."""
    form = PolicyForm()
    if form.validate_on_submit():
        policies.save_policy(current_user, form.data_dict())
        flash(_("Policy saved."), "success")
        return redirect(url_for("sla.policy_list"))
    rows = db.session.scalars(db.select(SLAPolicy).order_by(SLAPolicy.position, SLAPolicy.id)).all()
    return render_template("sla/policies.html", policies=rows, form=form)


@bp.route("/policies/<int:policy_id>", methods=["GET", "POST"])
@supervisor_required
@fresh_login_required
def policy_edit(policy_id: int):
    """Edit one policy."""
    policy = db.session.get(SLAPolicy, policy_id) or abort(404)
    form = PolicyForm(obj=policy)
    if form.validate_on_submit():
        policies.save_policy(current_user, form.data_dict(), policy_id)
        flash(_("Policy saved."), "success")
        return redirect(url_for("sla.policy_list"))
    return render_template("sla/policy_edit.html", policy=policy, form=form)


@bp.post("/policies/<int:policy_id>/delete")
@supervisor_required
@fresh_login_required
def policy_delete(policy_id: int):
    """Delete one policy."""
    try:
        policies.delete_policy(current_user, policy_id)
    except LookupError:
        abort(404)
    flash(_("Policy deleted."), "success")
    return redirect(url_for("sla.policy_list"))


@bp.route("/calendar", methods=["GET", "POST"])
@supervisor_required
@fresh_login_required
def calendar():
    """Opening hours per weekday, holidays and the shop's closed days."""
    row = policies.default_calendar_row()
    cal = policies.calendar_from_row(row)
    form = HoursForm(prefix="hours")
    closed_form = ClosedDayForm(prefix="closed")
    if form.is_submitted() and "hours-day0" in _form_keys():
        if form.validate():
            policies.save_calendar(current_user, form.hours(), form.public_holidays.data)
            flash(_("Opening hours saved."), "success")
            return redirect(url_for("sla.calendar"))
    elif closed_form.is_submitted() and "closed-label" in _form_keys():
        if closed_form.validate():
            try:
                policies.add_closed_day(current_user, closed_form.label.data, closed_form.start_date.data,
                                        closed_form.end_date.data, closed_form.yearly.data)
                flash(_("Closed days added."), "success")
                return redirect(url_for("sla.calendar"))
            except ValueError:
                closed_form.end_date.errors.append(_("The end is before the start."))
    if not form.is_submitted():
        for day in range(7):
            getattr(form, f"day{day}").data = hours_text(cal.hours.get(day, ()))
        form.public_holidays.data = cal.public_holidays
    return render_template("sla/calendar.html", form=form, closed_form=closed_form, calendar=cal,
                           closed_days=row.closed_days if row else [], builtin=row is None)


def _form_keys():
    from flask import request

    return request.form.keys()


@bp.post("/calendar/closed/<int:closed_id>/delete")
@supervisor_required
@fresh_login_required
def closed_delete(closed_id: int):
    """Remove a closed-days range."""
    try:
        policies.delete_closed_day(current_user, closed_id)
    except LookupError:
        abort(404)
    return redirect(url_for("sla.calendar"))


@bp.get("/live")
@supervisor_required
def live():
    """Open tickets at risk or breached; refreshed on Socket.IO 'sla.changed' (room supervisors)."""
    return render_template("sla/live.html", rows=at_risk_rows())


@bp.get("/live/rows")
@supervisor_required
def live_rows():
    """The list alone, for the page's refresh."""
    return render_template("sla/_live_rows.html", rows=at_risk_rows())


@bp.cli.command("backfill")
def backfill_command():
    """Compute SLA clocks and report metrics for tickets that have none: `flask sla backfill`."""
    import click

    from app.sla.live import backfill

    click.echo(f"{backfill()} tickets computed")
