"""`flask --app wsgi search reindex | reconcile | status`."""
from __future__ import annotations

import json
import time

import click

from app.search import bp


class ProgressLines:
    """`progress(n)` for a rebuild: a line every few seconds with done / total, rate and ETA
    (plain lines, so logs and pipes show them too, unlike a progress bar)."""

    def __init__(self, total: int, every: float = 5.0, echo=click.echo):
        self.total, self.every, self.echo = total, every, echo
        self.done, self.started = 0, time.monotonic()
        self.printed = self.started

    def __call__(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.printed >= self.every:
            self.printed = now
            self.echo(self.line(now))

    def line(self, now: float) -> str:
        rate = self.done / max(now - self.started, 1e-6)
        left = max(self.total - self.done, 0)
        eta = _duration(left / rate) if rate else "?"
        share = f" ({self.done / self.total:.0%})" if self.total else ""
        return f"  {self.done:,} / {self.total:,} documents{share}, {rate:,.0f}/s, ETA {eta}"


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


@bp.cli.command("reindex")
@click.option("--every", default=5.0, show_default=True, help="Seconds between progress lines.")
def reindex(every: float) -> None:
    """Rebuild the whole search index from the database, printing progress; supersedes the queue."""
    from app.search.indexer import rebuild, total_documents
    from app.search import backend

    if backend.is_postgres():  # rewrites the tsvector rows (app/search/pg/writer.py)
        from app.search.pg.writer import rebuild

    progress = ProgressLines(total_documents(), every)
    click.echo(f"Indexing {progress.total:,} customers and messages...")
    count = rebuild(progress=progress)
    elapsed = time.monotonic() - progress.started
    click.echo(f"Indexed {count} documents. ({_duration(elapsed)}, {count / max(elapsed, 1e-6):,.0f}/s)")
    if backend.is_postgres():
        return
    from app.search.reconcile import lag

    click.echo(f"Search index: {lag()['state']}.")


@bp.cli.command("reconcile")
def reconcile_command() -> None:
    """Queue whatever the index lacks or has in excess (the worker then indexes it)."""
    from app.search.reconcile import reconcile

    click.echo(json.dumps(reconcile()))


@bp.cli.command("status")
def status_command() -> None:
    """Print the lag indicator (state, queue size, oldest pending age, backfill, reindex progress)."""
    from app.search.reconcile import lag

    click.echo(json.dumps(lag()))
