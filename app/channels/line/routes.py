"""POST /hooks/line (the Messaging API webhook) and the supervisors' LINE status page.

The X-Line-Signature (base64 HMAC-SHA256 of the raw body with LINE_CHANNEL_SECRET) is checked on
the raw bytes before anything is parsed: a wrong or missing signature is 401 and nothing is
stored; a body that is not a JSON object is 400. No session, so CSRF-exempt.
"""
from __future__ import annotations

import json

from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from linebot.v3.webhook import SignatureValidator

from app.auth.access import supervisor_required
from app.channels.line.adapter import LineChannel
from app.channels.line.services import quota_status, receive, send_mode
from app.extensions import csrf

bp = Blueprint("line", __name__, template_folder="templates")


@bp.post("/hooks/line")
@csrf.exempt
def line_hook():
    """Receive one signed webhook delivery from LINE."""
    secret = current_app.config.get("LINE_CHANNEL_SECRET")
    if not secret:
        return jsonify(error="not_configured", message="LINE_CHANNEL_SECRET is not set"), 503
    body = request.get_data(cache=True)
    signature = request.headers.get("X-Line-Signature", "")
    if not signature or not SignatureValidator(secret).validate(body.decode("utf-8", "replace"), signature):
        return jsonify(error="unauthorized", message="bad X-Line-Signature"), 401
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return jsonify(error="bad_request", message="body is not JSON"), 400
    if not isinstance(payload, dict) or not isinstance(payload.get("events", []), list):
        return jsonify(error="bad_request", message="expected {destination, events: [...]}"), 400
    return jsonify(status="ok", results=receive(payload))


@bp.get("/line/status")
@supervisor_required
def status():
    """The webhook URL to paste into the LINE console, whether the channel is set up, the quota."""
    return render_template("line/status.html", webhook_url=url_for("line.line_hook", _external=True),
                           enabled=LineChannel.enabled(current_app.config), quota=quota_status())


@bp.app_template_global("line_send_mode")
def line_send_mode(ticket) -> str:
    """For the composer: 'reply' (free, token still valid) or 'push' (counts against the quota)."""
    return send_mode(ticket)


from app.channels.line import routes_links, routes_media  # noqa: E402,F401  (register their views on bp)
