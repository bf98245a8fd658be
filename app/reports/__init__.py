"""Supervisor reports (SLA, backlog, volume, saves, coupons, NPS) and the public survey pages."""
from flask import Blueprint

bp = Blueprint("reports", __name__, template_folder="templates", url_prefix="/reports")

from app.reports import routes, survey  # noqa: E402,F401  (survey subscribes to ticket.updated)
