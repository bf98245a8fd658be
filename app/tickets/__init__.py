"""Tickets: the inbox and the ticket page."""
from flask import Blueprint

bp = Blueprint("tickets", __name__, template_folder="templates")

from app.tickets import routes  # noqa: E402,F401
