"""Admin area: the settings hub, users, teams and channel status (issue 19, item 3).

Settings that already have pages (SLA, coupon policy, macros, reply-check terms, API tokens)
stay where they are; the hub links to them.
"""
from flask import Blueprint

bp = Blueprint("admin", __name__, template_folder="templates")

from app.admin import routes  # noqa: E402,F401
