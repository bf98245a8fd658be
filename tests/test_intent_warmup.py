"""INTENT_WARMUP: the cancellation-intent model is trained before the first message needs it."""
from __future__ import annotations

import threading

from app import create_app
from app.retention import intent_model
from app.worker import run_forever
from config import TestingConfig


def _ready() -> bool:
    thread = intent_model.warm_up()  # None once trained; else the training thread (started once)
    if thread is not None:
        thread.join(timeout=120)
    return intent_model._shipped.cache_info().currsize == 1


def test_tests_do_not_warm_up_unless_asked(app):
    assert app.config["INTENT_WARMUP"] is False
    hooks = [f.__name__ for f in app.before_request_funcs.get(None, [])]
    assert "_warm_up_intent_model" not in hooks


def test_web_process_starts_training_at_its_first_request(tmp_path):
    web = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="sqlite://", INSTANCE_DIR=str(tmp_path / "i"),
                     INTENT_WARMUP=True)
    hooks = [f.__name__ for f in web.before_request_funcs.get(None, [])]
    assert "_warm_up_intent_model" in hooks
    web.test_client().get("/login")
    assert _ready()
    assert intent_model.warm_up() is None  # trained once per process; later calls cost nothing


def test_worker_start_warms_up_then_stops(tmp_path):
    worker = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="sqlite://", INSTANCE_DIR=str(tmp_path / "w"),
                        INTENT_WARMUP=True)
    stop = threading.Event()
    stop.set()  # run_forever warms up, then sees the stop at once
    run_forever(worker, stop)
    assert _ready()
    found = intent_model.shipped_model()
    assert found.probabilities(["定期便を解約したいです"])[0]["cancel"] > 0.5
