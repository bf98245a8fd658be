"""The demo mailbox (/demo/mailbox): what the demo's local SMTP server and X endpoint received,
so someone trying Tsunagu sees their reply leave (app/demo/sinks.py). 404 outside the demo."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from flask_login import login_required

from app.demo import sinks

bp = Blueprint("demo", __name__, url_prefix="/demo", template_folder="templates")


@bp.get("/mailbox")
@login_required
def mailbox():
    """Newest first: the mails and X posts the demo 'sent'."""
    if not current_app.config.get("DEMO_SINKS"):
        abort(404)
    return render_template("demo/mailbox.html", items=sinks.received())
