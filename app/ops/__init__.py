"""Operations: health and readiness endpoints, structured logs with a request id."""
from flask import Blueprint

bp = Blueprint("ops", __name__)

from app.ops import health  # noqa: E402,F401
