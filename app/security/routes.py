"""The re-authentication page asked before sensitive changes."""
from __future__ import annotations

from flask import flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_login import confirm_login, current_user, login_required

from app.auth.routes import safe_next
from app.extensions import limiter
from app.security import bp
from app.security.forms import ReauthForm
from app.security.fresh import mark_fresh


@bp.route("/reauth", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per minute", methods=["POST"])
def reauth():
    """Confirm the password before changing policies, users or passwords."""
    form = ReauthForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        if current_user.check_password(form.password.data or ""):
            confirm_login()
            mark_fresh()
            return redirect(safe_next(form.next.data))
        flash(_("Wrong password."), "error")
    return render_template("security/reauth.html", form=form)
