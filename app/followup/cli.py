"""`flask follow-up run`: the daily run, from cron or by hand (the worker runs it hourly too)."""
from __future__ import annotations

from datetime import date

import click

from app.followup import bp


@bp.cli.command("run")
@click.option("--today", default=None, help="Run as if it were this local date (YYYY-MM-DD).")
def run_command(today: str | None) -> None:
    """Send every due follow-up step once."""
    from app.followup.runner import run

    counts = run(date.fromisoformat(today) if today else None)
    for key in sorted(counts):
        click.echo(f"{key}: {counts[key]}")
    if not counts:
        click.echo("nothing due")
