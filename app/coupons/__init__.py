"""Goodwill coupons: issued from a ticket within supervisor-set limits, requests above them."""
from flask import Blueprint

bp = Blueprint("coupons", __name__, template_folder="templates", url_prefix="/coupons")

from app.coupons import display, live, routes, shop  # noqa: E402,F401


def _expire_job(_app) -> int:
    from app.coupons.services import expire_due

    return expire_due()


def _register_jobs() -> None:
    from app.worker import register_job

    register_job("coupons.expire", _expire_job, every=3600)


_register_jobs()
