"""Retention: cancellation requests detected, answered with skip, pause, cycle change or swap.

The blueprint holds the ticket-page panel's routes; registering it also fills in the retention
settings the config does not set (each can come from the environment).
"""
from __future__ import annotations

import os

from flask import Blueprint

bp = Blueprint("retention", __name__, template_folder="templates")

#: Setting name -> (parser, default). Read from the environment when the config lacks them.
DEFAULTS = {
    #: A money offer (coupon, discount) to the same customer at most once per this many days.
    "RETENTION_MONEY_COOLDOWN_DAYS": (int, 100),
    #: A shipment can be changed until this many days before it ships.
    "RETENTION_CHANGE_DEADLINE_DAYS": (int, 5),
    #: Move computed ship dates off Japanese public holidays.
    "RETENTION_SHIP_AVOID_HOLIDAYS": (lambda v: str(v).lower() in {"1", "true", "yes", "on"}, False),
    #: Delivery cycles an agent can choose (days).
    "RETENTION_CYCLE_OPTIONS": (lambda v: tuple(int(x) for x in str(v).split(",") if x.strip()), (30, 45, 60, 90)),
    #: Lifetime value (yen) from which a customer counts as a best customer for money offers.
    "RETENTION_HIGH_LTV_YEN": (int, 30000),
    #: The goodwill coupon the ladder suggests (yen; the agent can change it).
    "RETENTION_COUPON_YEN": (int, 500),
    #: When a save counts (app.retention.outcomes): next_shipment | window.
    "RETENTION_SAVE_RULE": (str, "next_shipment"),
    #: window rule (and saves with no next shipment): days the subscription must stay live.
    "RETENTION_SAVE_WINDOW_DAYS": (int, 30),
    #: local | webhook
    "COMMERCE_BACKEND": (str, "local"),
    "COMMERCE_BACKEND_URL": (str, None),
    "COMMERCE_BACKEND_SECRET": (str, None),
    "COMMERCE_BACKEND_TIMEOUT": (float, 5.0),
    "COMMERCE_BACKEND_MAX_ATTEMPTS": (int, 6),
    #: Inbound hook: how old a signed timestamp may be (seconds).
    "COMMERCE_WEBHOOK_REPLAY_SECONDS": (int, 300),
}


def init_settings(config) -> None:
    for name, (parse, default) in DEFAULTS.items():
        if config.get(name) is not None:
            continue
        raw = os.environ.get(name)
        config[name] = parse(raw) if raw not in (None, "") else default


@bp.record_once
def _on_register(state) -> None:
    init_settings(state.app.config)


from app.retention import routes  # noqa: E402,F401
