"""Admin page of API tokens: who or what holds each one, its scopes, last use; revoke (issue 20, item 1).

Tokens are created on the command line (`flask create-token`), where the secret is shown once;
this page only lists and revokes, so no token value ever appears in a browser.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.auth.services import revoke_token as revoke
from app.extensions import db
from app.models import ApiToken
from app.security import bp
from app.security.fresh import fresh_login_required


def admin_required(view):
    """Only admins; others get 403."""

    @wraps(view)
    @login_required
    def wrapper(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapper


@bp.get("/admin/tokens")
@admin_required
def tokens():
    """Every API token with its owner or integration, scopes and last use."""
    rows = db.session.scalars(select(ApiToken).options(joinedload(ApiToken.agent))
                              .order_by(ApiToken.revoked, ApiToken.id.desc()))
    return render_template("security/tokens.html", tokens=list(rows), form=FlaskForm())


@bp.post("/admin/tokens/<int:token_id>/revoke")
@admin_required
@fresh_login_required
def revoke_token(token_id: int):
    """Revoke one token at once (its next request answers 401)."""
    if not FlaskForm().validate_on_submit():
        abort(400)
    if not revoke(token_id):
        abort(404)
    flash(_("The token was revoked."), "success")
    return redirect(url_for("security.tokens"))
