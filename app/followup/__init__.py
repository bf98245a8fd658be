"""After-care follow-up plans: triggers, steps, the daily runner, the task queue and unsubscribe."""
from flask import Blueprint

bp = Blueprint("followup", __name__, template_folder="templates", cli_group="follow-up")


def _job(app):
    from app.followup.runner import run

    return run()


def register_worker_job() -> None:
    from app.worker import register_job

    register_job("followup", _job, every=3600)  # a daily cadence; hourly runs are idempotent


from app.followup import cli, routes  # noqa: E402,F401
