"""Follow-up pages: plans and steps (supervisors), today's tasks (agents), reports, unsubscribe."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth.access import supervisor_required
from app.extensions import csrf, db
from app.followup import bp, render, reports, services
from app.followup.forms import DeleteForm, PlanForm, StepForm, TaskOutcomeForm
from app.models import FollowupPlan, FollowupStep


@bp.app_template_global("followup_consent")
def followup_consent(customer_id: int):
    """The customer's mail consent row (or None), for the customer page."""
    return services.consent_of(customer_id)


@bp.route("/followup/plans")
@supervisor_required
def plans():
    """Every plan with its steps."""
    return render_template("followup/plans.html", plans=services.all_plans(), delete_form=DeleteForm())


@bp.route("/followup/plans/new", methods=["GET", "POST"])
@bp.route("/followup/plans/<int:plan_id>", methods=["GET", "POST"])
@supervisor_required
def edit_plan(plan_id: int | None = None):
    """Create or edit a plan."""
    plan = db.session.get(FollowupPlan, plan_id) if plan_id else None
    if plan_id and plan is None:
        abort(404)
    form = PlanForm(obj=plan)
    if form.validate_on_submit():
        try:
            plan = services.save_plan(plan, current_user, name_ja=form.name_ja.data, name_en=form.name_en.data or "",
                                      trigger=form.trigger.data, trigger_n=form.trigger_n.data or 1,
                                      active=form.active.data)
        except services.FollowupError as exc:
            flash(exc.translated(), "error")
        else:
            flash(_("Plan saved."), "success")
            return redirect(url_for("followup.edit_plan", plan_id=plan.id))
    return render_template("followup/plan.html", plan=plan, form=form, delete_form=DeleteForm())


@bp.route("/followup/plans/<int:plan_id>/steps/new", methods=["GET", "POST"])
@bp.route("/followup/plans/<int:plan_id>/steps/<int:step_id>", methods=["GET", "POST"])
@supervisor_required
def edit_step(plan_id: int, step_id: int | None = None):
    """Create or edit a step of a plan."""
    plan = db.session.get(FollowupPlan, plan_id) or abort(404)
    step = db.session.get(FollowupStep, step_id) if step_id else None
    if step_id and (step is None or step.plan_id != plan.id):
        abort(404)
    form = StepForm(obj=step)
    if form.validate_on_submit():
        try:
            services.save_step(plan, step, delay_days=form.delay_days.data, kind=form.kind.data,
                               purpose=form.purpose.data, offer=form.offer.data, language=form.language.data,
                               subject=form.subject.data or "", body=form.body.data)
        except services.FollowupError as exc:
            flash(exc.translated(), "error")
        else:
            flash(_("Step saved."), "success")
            return redirect(url_for("followup.edit_plan", plan_id=plan.id))
    return render_template("followup/step.html", plan=plan, step=step, form=form)


@bp.route("/followup/steps/<int:step_id>/delete", methods=["POST"])
@supervisor_required
def delete_step(step_id: int):
    """Remove a step (its sends go with it)."""
    step = db.session.get(FollowupStep, step_id) or abort(404)
    plan_id = step.plan_id
    if DeleteForm().validate_on_submit():
        services.delete_step(step)
    return redirect(url_for("followup.edit_plan", plan_id=plan_id))


@bp.route("/followup/tasks")
@login_required
def tasks():
    """Follow-up calls and notes to do today, each a click away from the customer's timeline."""
    return render_template("followup/tasks.html", rows=services.tasks_due(), form=TaskOutcomeForm())


@bp.route("/followup/tasks/<int:task_id>", methods=["POST"])
@login_required
def finish_task(task_id: int):
    """Record a task as done or skipped (with why)."""
    task = services.followup_task(task_id) or abort(404)
    form = TaskOutcomeForm()
    if form.validate_on_submit():
        try:
            services.finish_task(task, current_user, form.outcome.data, form.note.data or "")
        except services.FollowupError as exc:
            flash(exc.translated(), "error")
        else:
            flash(_("Task recorded."), "success")
    return redirect(url_for("followup.tasks"))


@bp.route("/followup/report")
@supervisor_required
def report():
    """Per plan and step outcomes, and repeat purchase / survival against comparable customers."""
    return render_template("followup/report.html", steps=reports.step_counts(), cohorts=reports.cohorts())


@bp.route("/u/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str):
    """RFC 8058 one-click unsubscribe: POST unsubscribes (token-authenticated, no CSRF by design:
    the mail client posts it); GET shows a confirm page whose form posts back here."""
    customer_id = render.customer_id_from(token)
    if customer_id is None:
        abort(404)
    if request.method == "POST":
        services.unsubscribe(customer_id, via="one-click" if request.form.get("List-Unsubscribe") else "page")
        return render_template("followup/unsubscribed.html")
    return render_template("followup/unsubscribe.html", token=token)
