"""Macro picker endpoints for agents; macro and reply-check dictionary pages for supervisors."""
from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.auth.access import get_ticket_for, supervisor_required
from app.extensions import db
from app.macros import bp, checks, services
from app.macros.forms import DeleteForm, MacroForm, TermForm
from app.models import Macro


@bp.route("/macros.json")
@login_required
def picker():
    """Active macros for the composer's picker (titles and raw text; rendering is per ticket)."""
    return jsonify([{"id": m.id, "title": m.title, "language": m.language, "preview": m.body[:120]}
                    for m in services.picker_macros(request.args.get("language") or None)])


@bp.route("/macros/<int:macro_id>/render")
@login_required
def render(macro_id: int):
    """The macro's text with this ticket's values (the ticket must be visible to the agent)."""
    macro = db.session.get(Macro, macro_id)
    if macro is None or not macro.active:
        abort(404)
    ticket = get_ticket_for(current_user, request.args.get("ticket_id", type=int) or 0)
    text, missing = services.render_checked(macro, ticket, current_user)
    return jsonify({"id": macro.id, "text": text, "missing": missing})


@bp.route("/reply-check.json")
@login_required
def check_terms():
    """The dictionary for the composer's live highlighting."""
    return jsonify([{"term": t.term, "note": t.note} for t in checks.active_terms()])


@bp.route("/admin/macros")
@supervisor_required
def index():
    """Macros, and the link to the reply-check dictionary."""
    return render_template("macros/index.html", macros=services.all_macros(), delete_form=DeleteForm())


@bp.route("/admin/macros/new", methods=["GET", "POST"])
@bp.route("/admin/macros/<int:macro_id>", methods=["GET", "POST"])
@supervisor_required
def edit(macro_id: int | None = None):
    """Create or edit a macro."""
    macro = db.session.get(Macro, macro_id) if macro_id else None
    if macro_id and macro is None:
        abort(404)
    form = MacroForm(obj=macro)
    if form.validate_on_submit():
        services.save_macro(macro, current_user, title=form.title.data, language=form.language.data,
                            body=form.body.data, active=form.active.data)
        flash(_("Macro saved."), "success")
        return redirect(url_for("macros.index"))
    return render_template("macros/edit.html", form=form, macro=macro), 422 if form.errors else 200


@bp.route("/admin/macros/<int:macro_id>/delete", methods=["POST"])
@supervisor_required
def delete(macro_id: int):
    macro = db.session.get(Macro, macro_id) or abort(404)
    if DeleteForm().validate_on_submit():
        services.delete_macro(macro)
        flash(_("Macro deleted."), "success")
    return redirect(url_for("macros.index"))


@bp.route("/admin/reply-check", methods=["GET", "POST"])
@supervisor_required
def terms():
    """The reply-check dictionary: add, switch off, delete; empty means the starter list."""
    form = TermForm()
    if form.validate_on_submit():
        if checks.add_term(form.term.data, form.language.data, form.note.data):
            flash(_("Added."), "success")
        else:
            flash(_("That wording is already in the dictionary."), "error")
        return redirect(url_for("macros.terms"))
    rows = checks.dictionary()
    return render_template("macros/terms.html", form=form, rows=rows, starter=checks.STARTER_TERMS,
                           delete_form=DeleteForm())


@bp.route("/admin/reply-check/seed", methods=["POST"])
@supervisor_required
def seed_terms():
    if DeleteForm().validate_on_submit():
        added = checks.seed_starter_terms()
        flash(_("%(num)d entries added.", num=added), "success")
    return redirect(url_for("macros.terms"))


@bp.route("/admin/reply-check/<int:term_id>/<action>", methods=["POST"])
@supervisor_required
def term_action(term_id: int, action: str):
    if action not in ("toggle", "delete") or not DeleteForm().validate_on_submit():
        abort(400)
    if not checks.change_term(term_id, action):
        abort(404)
    return redirect(url_for("macros.terms"))
