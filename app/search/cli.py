"""`flask --app wsgi search reindex | reconcile | status`."""
from __future__ import annotations

import json

import click

from app.search import bp


@bp.cli.command("reindex")
def reindex() -> None:
    """Rebuild the whole search index from the database (with a progress bar)."""
    from app.search.indexer import rebuild, total_documents

    total = total_documents()
    with click.progressbar(length=total, label="Indexing customers and messages",
                           show_pos=True, show_eta=True) as bar:
        count = rebuild(progress=bar.update)
    click.echo(f"Indexed {count} documents.")


@bp.cli.command("reconcile")
def reconcile_command() -> None:
    """Queue whatever the index lacks or has in excess (the worker then indexes it)."""
    from app.search.reconcile import reconcile

    click.echo(json.dumps(reconcile()))


@bp.cli.command("status")
def status_command() -> None:
    """Print the lag indicator (queue size, oldest pending age, backfill remaining)."""
    from app.search.reconcile import lag

    click.echo(json.dumps(lag()))
