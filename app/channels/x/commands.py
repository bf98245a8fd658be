"""`flask --app wsgi poll x [--once]`: poll X mentions (and brand keywords) from the command line."""
from __future__ import annotations

import time

import click
from flask import current_app

from app.cli import poll


def _echo(report) -> None:
    line = (f"{report.channel}: {report.status}; {report.pages} pages, {report.fetched} posts read, "
            f"{report.created} new, {report.duplicates} already stored, since_id {report.since_id or '-'}")
    click.echo(line + (f" ({report.detail})" if report.detail else ""))
    for warning in report.warnings:
        click.echo(f"  warning: {warning}", err=True)


@poll.command("x")
@click.option("--once", is_flag=True, help="Poll once now (ignoring the pace) and exit.")
def poll_x(once: bool) -> None:
    """Poll X mentions (and X_KEYWORDS searches) through the one ingest path."""
    from app.channels.x.listening import poll_listening
    from app.channels.x.poller import poll_mentions
    from app.extensions import db

    config = current_app.config
    while True:
        reports = [poll_mentions(config, force=once)]
        if config.get("X_KEYWORDS"):
            reports.append(poll_listening(config, force=once))
        db.session.remove()
        for report in reports:
            if once or report.status != "skipped":
                _echo(report)
        if once:
            if reports[0].status in ("error", "disabled"):
                click.get_current_context().exit(1)  # a failed poll is a failed command
            return
        time.sleep(5)  # the pace itself is kept in ChannelState (budget-aware)
