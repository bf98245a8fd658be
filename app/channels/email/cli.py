"""`flask --app wsgi poll email [--once] [--history-before DATE]`: poll the configured mailboxes.

`--history-before DATE` is a shop's first day: the mailboxes are read to the end once, mail from
before DATE (shop time when no zone is given) is imported as closed history with nothing live
(no acknowledgement, SLA clock, live event or intent alert), newer mail is handled as usual, and
an "n of N" line with the rate goes to stderr every few seconds. Interrupted, it is simply run
again: the committed cursor and the (channel, external_id) constraint lose and repeat nothing.
A worker polling the same mailbox meanwhile would take old mail as live: stop it, or set the
cutoff on the mailbox instead (EMAIL_HISTORY_BEFORE, or "history_before" in EMAIL_MAILBOXES),
which every poll honours. A mailbox another poller holds is reported and fails the command.
"""
from __future__ import annotations

import dataclasses

import click
from flask import current_app

from app.cli import poll


@poll.command("email")
@click.option("--once", is_flag=True, help="Poll every mailbox until nothing is new, then exit.")
@click.option("--history-before", "history_before", metavar="DATE",
              help="Import mail dated before DATE (e.g. 2026-04-01) as closed history, then exit.")
def email_command(once: bool, history_before: str | None) -> None:
    """Fetch new mail from every configured mailbox (IMAP) into tickets."""
    from app.channels.email.history import parse_cutoff, to_stderr
    from app.channels.email.imap import mailboxes
    from app.channels.email.runner import poll_all_once, watch_all

    app = current_app._get_current_object()
    boxes = mailboxes(app.config)
    if not boxes:
        raise click.ClickException("no mailbox configured: set IMAP_HOST/IMAP_USER or EMAIL_MAILBOXES")
    if history_before:
        try:
            cutoff = parse_cutoff(history_before, app.config["TIMEZONE"])
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--history-before") from exc
        boxes = [dataclasses.replace(box, history_before=cutoff) for box in boxes]
        click.echo(f"Importing history before {cutoff.isoformat()} from {', '.join(b.key for b in boxes)}",
                   err=True)
        once = True
    if once:
        results = poll_all_once(app, boxes, progress=to_stderr if history_before else None)
        for result in results:
            click.echo(result.summary())
        if history_before and any(r.skipped for r in results):
            click.echo("a mailbox was being polled by another process (a worker?): its mail was not imported "
                       "as history; stop it, or set the cutoff on the mailbox, and run the import again", err=True)
        if any(r.error or (history_before and r.skipped) for r in results):
            click.get_current_context().exit(1)  # a failed poll is a failed command
        return
    click.echo(f"Watching {', '.join(b.key for b in boxes)} (Ctrl-C to stop)")
    watch_all(app)
