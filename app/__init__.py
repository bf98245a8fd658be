"""Application factory: create_app() made of short register_* helpers."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask, g, has_request_context, request, session
from flask_login import current_user

from app.extensions import babel, csrf, db, limiter, login, migrate, socketio
from config import BASE_DIR, Config, config_from_env


def create_app(config_class: type[Config] | None = None, **overrides) -> Flask:
    config_class = config_class or config_from_env()
    if hasattr(config_class, "validate"):
        config_class.validate()
    instance = overrides.get("INSTANCE_DIR", config_class.INSTANCE_DIR)
    app = Flask(__name__, static_folder=str(BASE_DIR / "static"), static_url_path="/static",
                instance_path=str(Path(instance).resolve()))
    app.config.from_object(config_class)
    app.config.update(overrides)
    os.makedirs(app.instance_path, exist_ok=True)
    register_extensions(app)
    register_blueprints(app)
    register_channels(app)
    register_subscribers(app)
    register_template_helpers(app)
    from app.security import init_security

    init_security(app)  # CSP/security headers, secret redaction in logs, fresh login
    from app.retention.intent_model import init_app as init_intent_warm_up

    init_intent_warm_up(app)  # INTENT_WARMUP: the intent model trains before a message needs it
    from app.ops.logs import init_logging

    init_logging(app)
    logging.getLogger("tweepy").setLevel(max(logging.INFO, logging.getLogger("tweepy").level))
    return app


def _select_locale() -> str:
    if not has_request_context():
        return "en"
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale:
        return current_user.locale
    chosen = session.get("locale")
    if chosen in ("ja", "en"):
        return chosen
    for tag, _quality in request.accept_languages:  # best first; "ja-JP" counts as "ja"
        primary = tag.replace("_", "-").split("-")[0].lower()
        if primary in ("ja", "en"):
            return primary
    return "en"


def _select_timezone() -> str:
    from flask import current_app
    return current_app.config["TIMEZONE"]


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
    login.init_app(app)
    login.login_view = "auth.login"
    login.session_protection = app.config.get("SESSION_PROTECTION", "strong")
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=_select_timezone,
                   default_translation_directories=str(BASE_DIR / "app" / "translations"))
    storage = app.config.get("REDIS_URL")
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage or "memory://")
    limiter.init_app(app)
    # Socket.IO handlers must be declared before the first init_app: Flask-SocketIO then keeps
    # them and registers them on the server of every app created later (tests create many).
    from app.realtime import events as _socket_handlers  # noqa: F401

    socketio.init_app(app, message_queue=app.config.get("REDIS_URL"),
                      async_mode=app.config.get("SOCKETIO_ASYNC_MODE", "threading"),
                      cors_allowed_origins=app.config.get("SOCKETIO_ALLOWED_ORIGINS"),
                      manage_session=False)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _tune_sqlite(app)


def _tune_sqlite(app: Flask) -> None:
    """WAL and a busy timeout so the web process and the worker can share the file."""
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "connect")
        def _pragma(dbapi_conn, _record):  # noqa: ANN001
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            if ":memory:" not in str(engine.url) and str(engine.url) != "sqlite://":
                cur.execute("PRAGMA journal_mode=WAL")
                cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()


def register_blueprints(app: Flask) -> None:
    from app.api import bp as api_bp
    from app.auth import bp as auth_bp
    from app.calls import bp as calls_bp
    from app.cli import bp as cli_bp
    from app.coupons import bp as coupons_bp
    from app.customers import bp as customers_bp
    from app.errors import bp as errors_bp
    from app.ops import bp as ops_bp
    from app.tickets import bp as tickets_bp
    from app.social import bp as social_bp
    from app.search import bp as search_bp
    from app.retention import bp as retention_bp
    from app.commerce.hooks import bp as commerce_hooks_bp

    app.register_blueprint(errors_bp)
    app.register_blueprint(ops_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(tickets_bp)
    app.register_blueprint(customers_bp)
    app.register_blueprint(coupons_bp)
    app.register_blueprint(calls_bp)
    app.register_blueprint(social_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(retention_bp)
    app.register_blueprint(commerce_hooks_bp)
    from app.channels.line.routes import bp as line_bp

    app.register_blueprint(line_bp)
    from app.macros import bp as macros_bp

    app.register_blueprint(macros_bp)
    from app.reports import bp as reports_bp
    from app.reports.survey_routes import bp as survey_bp
    from app.sla import bp as sla_bp

    app.register_blueprint(sla_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(survey_bp)
    from app.attachments import bp as attachments_bp

    app.register_blueprint(attachments_bp)
    from app.followup import bp as followup_bp

    app.register_blueprint(followup_bp)
    from app.admin import bp as admin_bp

    app.register_blueprint(admin_bp)
    from app.demo.mailbox import bp as demo_bp

    app.register_blueprint(demo_bp)  # /demo/mailbox: only answers while the demo sinks run
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    app.register_blueprint(cli_bp)
    csrf.exempt(api_bp)


def register_channels(app: Flask) -> None:
    import app.channels  # noqa: F401  (adapters register themselves)


def register_subscribers(app: Flask) -> None:
    """Features that react to ingested messages subscribe to the event bus here."""
    import app.realtime.broadcast  # noqa: F401
    import app.search.indexer  # noqa: F401  (search queue subscribers + the index writer job)
    import app.search.pg.writer  # noqa: F401  (SEARCH_BACKEND=postgres: rows written in the transaction)
    import app.channels.x.poller  # noqa: F401  (X poll job; budget.py counts delivered posts)
    import app.channels.email.autoack  # noqa: F401  (acknowledges new email tickets when configured)
    import app.channels.email.poller  # noqa: F401  (email poll job + `flask poll email`)
    import app.retention.cases  # noqa: F401  (cancellation intent on message.ingested)
    from app.shop.delivery import register_worker_job

    register_worker_job()  # shop backend retries
    from app.followup import register_worker_job as register_followup_job

    register_followup_job()  # the daily follow-up run (idempotent, hourly)


def register_template_helpers(app: Flask) -> None:
    from app.templating import init_templating

    init_templating(app)

    @app.before_request
    def _request_start():
        g.locale = _select_locale()
