"""Macros (canned replies with variables) and the reply-check dictionary, for the composer."""
from flask import Blueprint

bp = Blueprint("macros", __name__, template_folder="templates")

from app.macros import routes  # noqa: E402,F401
