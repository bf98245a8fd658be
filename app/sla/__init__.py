"""SLA: business hours, policies, per-ticket clocks, the live at-risk list for supervisors."""
from flask import Blueprint

bp = Blueprint("sla", __name__, template_folder="templates", url_prefix="/sla")

from app.sla import live, routes  # noqa: E402,F401  (live subscribes to the bus, registers the job)
