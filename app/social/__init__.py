"""Social inbox pages: the brand-listening view and the X API budget page (supervisors)."""
from flask import Blueprint

bp = Blueprint("social", __name__, template_folder="templates", url_prefix="/social")

from app.social import routes  # noqa: E402,F401
