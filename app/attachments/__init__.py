"""Attachments, raw sources and the sandboxed email HTML view, served only to authorised agents."""
from flask import Blueprint

bp = Blueprint("attachments", __name__)

from app.attachments import routes  # noqa: E402,F401
