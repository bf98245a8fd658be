from flask import render_template
from flask_login import login_required

from app.tickets import bp


@bp.route("/")
@login_required
def inbox():
    """The inbox (placeholder until the screens land)."""
    return render_template("base.html")
