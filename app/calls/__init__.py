"""Phone calls: logged by agents or by a phone system (signed webhook); both go through ingest()."""
from flask import Blueprint

bp = Blueprint("calls", __name__, template_folder="templates")

from app.calls import routes  # noqa: E402,F401
