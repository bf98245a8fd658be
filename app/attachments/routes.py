"""Downloads of attachments and raw sources, inline images, and the sandboxed email HTML view."""
from __future__ import annotations

from io import BytesIO

from flask import abort, make_response, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.attachments import bp, services


def _harden(response, csp: str = "default-src 'none'; sandbox"):
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = csp
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/attachments/<int:attachment_id>")
@login_required
def download(attachment_id: int):
    """Download an attachment (always as a file, never rendered in our origin)."""
    attachment = services.attachment_for(current_user, attachment_id)
    if attachment.data is None:
        abort(404, _("This attachment was too large to keep separately; download the raw "
                     "message instead: %(url)s",
                     url=url_for("attachments.raw", message_id=attachment.message_id)))
    response = send_file(BytesIO(attachment.data), mimetype=services.download_type(attachment.content_type),
                         as_attachment=True, download_name=services.download_name(attachment),
                         max_age=0)
    return _harden(response)


@bp.get("/attachments/<int:attachment_id>/inline")
@login_required
def inline(attachment_id: int):
    """A raster image attachment shown inline (PNG, JPEG, GIF, WebP — never SVG)."""
    attachment = services.attachment_for(current_user, attachment_id)
    ctype = services.inline_type(attachment)
    if ctype is None:
        abort(404)
    response = send_file(BytesIO(attachment.data), mimetype=ctype, as_attachment=False,
                         download_name=services.download_name(attachment), max_age=0)
    return _harden(response)


@bp.get("/messages/<int:message_id>/raw")
@login_required
def raw(message_id: int):
    """The message as it arrived (.eml or .json), for authorised agents."""
    message = services.message_for(current_user, message_id)
    if message.raw is None:
        abort(404)
    response = send_file(BytesIO(message.raw.content), mimetype="application/octet-stream",
                         as_attachment=True, download_name=services.raw_download_name(message),
                         max_age=0)
    return _harden(response)


@bp.get("/messages/<int:message_id>/html")
@login_required
def html(message_id: int):
    """The sanitised email HTML as a document for `<iframe sandbox>`; ?remote=1 loads images."""
    message = services.message_for(current_user, message_id)
    if not message.body_html:
        abort(404)
    remote = request.args.get("remote") == "1"
    response = make_response(services.email_document(message, remote))
    response.mimetype = "text/html"
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Referrer-Policy"] = "no-referrer"
    return _harden(response, services.email_csp(remote))
