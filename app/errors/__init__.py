"""Error pages: JSON for API clients, HTML for browsers; a 500 rolls the session back."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from app.extensions import db

bp = Blueprint("errors", __name__)


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


@bp.app_errorhandler(HTTPException)
def http_error(exc: HTTPException):
    if wants_json():
        return jsonify(error=exc.name, message=exc.description), exc.code
    return render_template("error.html", code=exc.code, name=exc.name, description=exc.description), exc.code


@bp.app_errorhandler(Exception)
def server_error(exc: Exception):
    if isinstance(exc, HTTPException):
        return http_error(exc)
    db.session.rollback()
    from flask import current_app
    current_app.logger.exception("unhandled error")
    if wants_json():
        return jsonify(error="Internal Server Error", message="unexpected error"), 500
    return render_template("error.html", code=500, name="Internal Server Error", description=""), 500
