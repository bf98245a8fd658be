"""Customer page and customer merge (supervisors: compare side by side, merge, undo)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from app.auth.access import get_customer_for, supervisor_required
from app.customers import bp
from app.customers.forms import MergeForm
from app.calls.services import open_tasks
from app.channels import registry
from app.customers.merge import compare, duplicate_candidates, undo_merge, undoable_merges
from app.customers.timeline import customer_timeline
from app.customers.services import MergeRefused, customer_page, merge_customers, survivor_id


@bp.route("/customers/<int:customer_id>")
@login_required
def show(customer_id: int):
    """Identities, commerce summary, tickets and the whole visible timeline of a customer."""
    survivor = survivor_id(customer_id)
    if survivor is not None and survivor != customer_id:  # a merged tombstone: go to the survivor
        return redirect(url_for("customers.show", customer_id=survivor))
    agent = current_user._get_current_object()
    customer = get_customer_for(agent, customer_id)
    merging = agent.is_supervisor
    return render_template("customers/show.html", data=customer_page(agent, customer),
                           merge_form=MergeForm(formdata=None) if merging else None,
                           merge_candidates=duplicate_candidates(customer) if merging else [],
                           undoable=undoable_merges(customer) if merging else [],
                           tasks=[t for t in open_tasks(agent.id) if t.customer_id == customer.id])


@bp.route("/customers/<int:customer_id>/timeline/older")
@login_required
def timeline_older(customer_id: int):
    """The next page of older timeline entries (?before=<message id>), as groups to merge into the
    page; `focus` marks the ticket being shown, `channel` keeps one channel."""
    agent = current_user._get_current_object()
    customer = get_customer_for(agent, customer_id)
    channel = request.args.get("channel") or None
    timeline = customer_timeline(agent, customer.id, request.args.get("focus", type=int),
                                 before_id=request.args.get("before", type=int),
                                 channel=channel if registry.is_known(channel or "") else None)
    return render_template("customers/_older.html", timeline=timeline)


@bp.get("/customers/<int:customer_id>/merge")
@supervisor_required
def merge_preview(customer_id: int):
    """Both customers side by side before merging this one (?target_id=) into the other."""
    agent = current_user._get_current_object()
    customer = get_customer_for(agent, customer_id)
    target_id = request.args.get("target_id", type=int)
    target = get_customer_for(agent, target_id) if target_id and target_id != customer.id else None
    if target is None:
        flash(_("Enter the number of another customer to compare with."), "error")
        return redirect(url_for("customers.show", customer_id=customer.id))
    source_side, target_side = compare(customer, target)
    return render_template("customers/merge.html", source=source_side, target=target_side,
                           form=MergeForm(formdata=None, target_id=target.id))


@bp.post("/customers/<int:customer_id>/merge")
@supervisor_required
def merge(customer_id: int):
    """Merge this customer into another one (undoable from the survivor's page)."""
    agent = current_user._get_current_object()
    customer = get_customer_for(agent, customer_id)
    form = MergeForm()
    if not form.validate_on_submit():
        flash(_("Enter the number of the customer to merge into."), "error")
        return redirect(url_for("customers.show", customer_id=customer.id))
    try:
        result = merge_customers(agent, customer.id, form.target_id.data)
    except MergeRefused as exc:
        flash(exc.translated(), "error")
        return redirect(url_for("customers.show", customer_id=customer.id))
    flash(_("Customer #%(source)s was merged into this customer.", source=result.source_id), "success")
    return redirect(url_for("customers.show", customer_id=result.target_id))


@bp.post("/customers/<int:customer_id>/merge/undo")
@supervisor_required
def merge_undo(customer_id: int):
    """Undo a merge into this customer (form field event_id: the merge's Event)."""
    agent = current_user._get_current_object()
    customer = get_customer_for(agent, customer_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        source_id, _target = undo_merge(agent, request.form.get("event_id", type=int) or 0, customer.id)
    except MergeRefused as exc:
        flash(exc.translated(), "error")
        return redirect(url_for("customers.show", customer_id=customer.id))
    flash(_("The merge was undone: customer #%(id)s is back.", id=source_id), "success")
    return redirect(url_for("customers.show", customer_id=customer.id))
