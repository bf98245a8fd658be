"""GET /line/media/<token> (and /preview): the images agents send on LINE, for LINE's servers and
apps, without login. See media.py for who may be served what."""
from __future__ import annotations

from io import BytesIO

from flask import abort, current_app, send_file

from app.channels.line import media
from app.channels.line.routes import bp
from app.extensions import csrf


def _serve(token: str, preview: bool = False):
    attachment_id = media.attachment_id_from(current_app.config, token)
    found = media.servable(attachment_id) if attachment_id is not None else None
    if found is None:
        abort(404)
    attachment, ctype = found
    data = attachment.data
    if preview:
        made = media.preview(data, ctype)
        if made is None:
            abort(404)
        data, ctype = made
    response = send_file(BytesIO(data), mimetype=ctype, as_attachment=False, max_age=86400,
                         download_name=f"line-{attachment.id}.{'png' if ctype == 'image/png' else 'jpg'}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get("/line/media/<token>")
@csrf.exempt
def media_original(token: str):
    """The image as sent (originalContentUrl)."""
    return _serve(token)


@bp.get("/line/media/<token>/preview")
@csrf.exempt
def media_preview(token: str):
    """The preview (previewImageUrl): the image itself up to 1 MB, else a smaller JPEG of it."""
    return _serve(token, preview=True)
