"""Coupon pages: the ticket panel's form, the supervisors' requests page, the policy page."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from werkzeug.exceptions import NotFound

from app.auth.access import get_ticket_for, supervisor_required
from app.security.fresh import fresh_login_required
from app.coupons import bp, display, live, policy, queries, services
from app.coupons.forms import ActionForm, DecisionForm, IssueCouponForm, PolicyForm, ReasonForm
from app.models import ROLES, Ticket

bp.record_once(live.register)

def _end_of_day(day) -> datetime:
    """A date in the shop's zone -> the first instant after it, in UTC (valid through that day)."""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(ZoneInfo("UTC"))


def _safe_next(default: str) -> str:
    target = request.form.get("next") or ""
    target = target if target.startswith("/") and not target.startswith("//") else default
    return target.split("#")[0] + "#coupons"


def _issue_form() -> IssueCouponForm:
    form = IssueCouponForm()
    # No reason is preselected: the agent chooses one (an empty choice fails DataRequired).
    form.reason.choices = [("", _("Choose a reason"))] + [(r, r) for r in policy.active_reasons()]
    return form


@bp.app_template_global()
def render_coupon_panel(ticket: Ticket) -> Markup:
    """The coupon panel for the ticket page: `{{ render_coupon_panel(ticket) }}`."""
    form = _issue_form()
    if not form.expires_on.data:
        zone = ZoneInfo(current_app.config["TIMEZONE"])
        form.expires_on.data = datetime.now(zone).date() + timedelta(days=30)
    coupons = services.ticket_coupons(ticket.id)
    return Markup(render_template(
        "coupons/_ticket_panel.html", ticket=ticket, form=form,
        coupons=coupons, coupon_code=queries.newest_issued_code(coupons),
        next_url=request.path, spent=services.month_spent(current_user.id),
        limits=policy.get_policy(current_user.role)))


@bp.app_template_global()
def coupon_code_for(ticket: Ticket) -> str:
    """The macro variable `coupon_code`: the ticket's newest usable code, or ''."""
    return services.latest_code(ticket.id) or ""


@bp.route("/ticket/<int:ticket_id>")
@login_required
def ticket_panel(ticket_id: int):
    """The coupon panel on its own page (also what the panel's form returns to by default)."""
    ticket = get_ticket_for(current_user, ticket_id)
    if request.args.get("partial"):
        return render_coupon_panel(ticket)
    return render_template("coupons/ticket.html", ticket=ticket)


@bp.route("/ticket/<int:ticket_id>/issue", methods=["POST"])
@login_required
def issue(ticket_id: int):
    """Issue a coupon (or file a request) for the ticket's customer."""
    try:
        ticket = get_ticket_for(current_user, ticket_id)
    except NotFound:
        services.deny_invisible_ticket(current_user, ticket_id)
        raise
    back = _safe_next(url_for("coupons.ticket_panel", ticket_id=ticket.id))
    form = _issue_form()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return redirect(back)
    data = services.CouponInput(kind=form.kind.data, value=form.value.data,
                                expires_at=_end_of_day(form.expires_on.data),
                                max_uses=form.max_uses.data, reason=form.reason.data,
                                reason_text=form.reason_text.data or "")
    try:
        coupon = services.issue(current_user, ticket, data, form.idempotency_key.data)
    except services.CouponRefused as exc:
        flash(exc.message, "error")
        return redirect(back, 303)
    if coupon.status == "issued":
        flash(_("Coupon %(code)s issued.", code=coupon.code), "success")
    else:
        flash(_("This coupon is over your limits: it was sent to a supervisor for approval."), "info")
    return redirect(back, 303)


@bp.route("/requests")
@supervisor_required
def requests():
    """Coupon requests waiting for a supervisor; updated live over Socket.IO."""
    return render_template("coupons/requests.html", pending=services.pending_requests(),
                           form=DecisionForm(),
                           over_labels={k: str(v) for k, v in display.OVER_LABELS.items()})


@bp.route("/requests/<int:coupon_id>/decide", methods=["POST"])
@supervisor_required
def decide(coupon_id: int):
    """Approve or refuse a request, with a note."""
    form = DecisionForm()
    if not form.validate_on_submit():
        abort(400)
    approve = bool(form.approve.data) and not form.refuse.data
    try:
        coupon = services.decide(current_user, coupon_id, approve, form.note.data or "")
    except services.CouponRefused as exc:
        flash(exc.message, "error")
        return redirect(url_for("coupons.requests"), 303)
    if approve:
        flash(_("Approved: coupon %(code)s issued.", code=coupon.code), "success")
    else:
        flash(_("Request refused."), "info")
    return redirect(url_for("coupons.requests"), 303)


@bp.route("/policy", methods=["GET", "POST"])
@supervisor_required
@fresh_login_required
def policy_page():
    """Per-role limits and the reasons list."""
    role = request.args.get("role") or request.form.get("role") or "agent"
    if role not in ROLES:
        abort(404)
    current = policy.get_policy(role)
    form = PolicyForm(obj=current)
    if form.validate_on_submit():
        values = {name: getattr(form, name).data for name in policy.POLICY_FIELDS}
        values["cancellation_extra"] = values["cancellation_extra"] or 0
        try:
            policy.save_policy(current_user, role, values)
        except policy.PolicyError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Policy saved."), "success")
        return redirect(url_for("coupons.policy_page", role=role), 303)
    return render_template("coupons/policy.html", form=form, role=role, roles=ROLES,
                           policies=policy.all_policies(), reasons=policy.all_reasons(),
                           reason_form=ReasonForm(), action_form=ActionForm())


@bp.route("/policy/reasons", methods=["POST"])
@supervisor_required
@fresh_login_required
def add_reason():
    """Add (or re-activate) a reason."""
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            policy.add_reason(current_user, form.label.data)
        except policy.PolicyError as exc:
            flash(str(exc), "error")
    return redirect(url_for("coupons.policy_page"), 303)


@bp.route("/policy/reasons/<int:reason_id>/toggle", methods=["POST"])
@supervisor_required
@fresh_login_required
def toggle_reason(reason_id: int):
    """Retire a reason, or offer it again."""
    form = ActionForm()
    if form.validate_on_submit():
        reason = policy.set_reason_active(current_user, reason_id,
                                          request.form.get("active") == "1")
        if reason is None:
            abort(404)
    return redirect(url_for("coupons.policy_page"), 303)
