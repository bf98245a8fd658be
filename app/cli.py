"""Command-line commands: `flask --app wsgi <command>` (users, tokens, demo data, serve, worker)."""
from __future__ import annotations

import logging
import os

import click
from flask import Blueprint, current_app
from sqlalchemy import func, select

from app.extensions import db

bp = Blueprint("cli", __name__, cli_group=None)


@bp.cli.command("create-user")
@click.argument("email")
@click.option("--role", type=click.Choice(["agent", "supervisor", "admin"]), default="agent")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--name", default="")
def create_user(email: str, role: str, password: str, name: str) -> None:
    """Create an agent, or reset an existing agent's password and role."""
    from app.auth.services import create_agent

    try:
        agent = create_agent(email, password, role=role, name=name)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc
    click.echo(f"{agent.email} ({agent.role}) is ready.")


@bp.cli.command("create-token")
@click.argument("email")
@click.option("--name", default="cli")
@click.option("--scope", "scopes", multiple=True,
              help="read, messages:write, calls:write, commerce:write (repeat, or comma-separate). "
                   "Default for a person's token: read, messages:write, calls:write.")
@click.option("--integration", default=None,
              help="The system the token is for (e.g. shop-sync); EMAIL is the admin who answers for it. "
                   "Needed for commerce:write; an integration token must name its scopes.")
def create_token(email: str, name: str, scopes: tuple[str, ...], integration: str | None) -> None:
    """Print a new API token for EMAIL (shown once; only its hash is stored)."""
    from app.auth.services import create_token as make
    from app.models import Agent

    agent = db.session.scalar(select(Agent).where(Agent.email == email.strip().lower()))
    if agent is None:
        raise click.ClickException(f"no agent {email}")
    if integration and not agent.is_admin:
        raise click.ClickException("an integration token is created by an admin (EMAIL must be an admin)")
    try:
        click.echo(make(agent, name, scopes=scopes, integration=integration))
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@bp.cli.command("list-tokens")
def list_tokens() -> None:
    """List API tokens: id, owner, integration, scopes, last use, revoked."""
    from app.models import ApiToken

    for row in db.session.scalars(select(ApiToken).order_by(ApiToken.id)):
        used = row.last_used_at.isoformat(timespec="minutes") if row.last_used_at else "never"
        click.echo(f"{row.id}\t{row.agent.email}\t{row.integration or '-'}\t{row.scopes}\t{used}"
                   f"\t{'revoked' if row.revoked else 'active'}\t{row.name}")


@bp.cli.command("revoke-token")
@click.argument("token_id", type=int)
def revoke_token(token_id: int) -> None:
    """Revoke the API token with this id (see list-tokens)."""
    from app.auth.services import revoke_token as revoke

    if not revoke(token_id):
        raise click.ClickException(f"no token {token_id}")
    click.echo(f"token {token_id} revoked")


@bp.cli.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has agents.")
@click.option("--customers", default=200, show_default=True)
@click.option("--seed", default=7, show_default=True, help="Random seed: the same seed, the same shop.")
@click.option("--url", default="http://127.0.0.1:5000", show_default=True,
              help="Where the server will listen (printed in the sign-in line).")
def seed_demo(if_empty: bool, customers: int, seed: int, url: str) -> None:
    """Fill the database with a believable Japanese subscription shop."""
    from app.demo import seed as seed_shop  # not `seed`: that name is the --seed option here
    from app.models import Agent

    if if_empty and db.session.scalar(select(func.count(Agent.id))):
        click.echo("The database already has data; demo seeding skipped.")
        return
    summary = seed_shop(customers=customers, seed=seed)
    click.echo(summary)
    click.echo(f"Sign in at {url} as agent@demo.example (agent) or "
               "supervisor@demo.example (supervisor), password: tsunagu-demo")


@bp.cli.command("worker")
@click.option("--once", is_flag=True, help="Run every due job once and exit.")
def worker(once: bool) -> None:
    """Run the background worker: outbox delivery and channel polling."""
    from app.worker import run_forever, run_once

    if once:
        run_once(current_app._get_current_object())
    else:
        run_forever(current_app._get_current_object())


@bp.cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@click.option("--no-worker", is_flag=True, help="Do not run the worker inside the web process.")
@click.option("--demo", is_flag=True, help="Trying Tsunagu out: replies go to a local mail server and a local "
                                           "stand-in for X (when those are not configured), shown at /demo/mailbox.")
def serve(host: str, port: int, no_worker: bool, demo: bool) -> None:
    """Serve web + Socket.IO (and, by default, the worker in a background thread)."""
    from app.extensions import socketio
    from app.worker import start_background

    app = current_app._get_current_object()
    if demo:
        from app.demo import sinks

        started = sinks.start(app)
        if started:
            click.echo(f"Demo: replies by {' and '.join(started)} stay on this computer; "
                       f"see them at http://{host}:{port}/demo/mailbox")
    if not no_worker and app.config.get("EMBEDDED_WORKER", True):
        start_background(app)
    # werkzeug's red "development server" banner alarms people trying the demo; we say it calmly.
    logging.getLogger("werkzeug").addFilter(_quiet_dev_server_banner)
    click.echo(f"Tsunagu is running at http://{host}:{port} — sign in at http://{host}:{port}/login")
    click.echo("(The built-in server suits a trial or a small team; for production see README "
               "'Production': gunicorn behind a proxy.)")
    # Flask's CLI marks the process so app.run() refuses to start a second server; this command
    # *is* the server (Socket.IO needs its own run loop), so lift the mark.
    os.environ.pop("FLASK_RUN_FROM_CLI", None)
    socketio.run(app, host=host, port=port, allow_unsafe_werkzeug=True, use_reloader=False)


def _quiet_dev_server_banner(record: logging.LogRecord) -> bool:
    return "This is a development server" not in str(record.getMessage())


@bp.cli.group("poll")
def poll() -> None:
    """Poll a channel (each channel attaches its subcommand: `flask poll x --once`)."""


from app.commerce.imports import import_command  # noqa: E402  (`flask import orders|subscriptions|customers FILE`)

bp.cli.add_command(import_command)
