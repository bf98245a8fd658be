"""`flask --app wsgi poll email [--once]`: poll the configured mailboxes from the command line."""
from __future__ import annotations

import click
from flask import current_app

from app.cli import poll


@poll.command("email")
@click.option("--once", is_flag=True, help="Poll every mailbox until nothing is new, then exit.")
def email_command(once: bool) -> None:
    """Fetch new mail from every configured mailbox (IMAP) into tickets."""
    from app.channels.email.imap import mailboxes
    from app.channels.email.runner import poll_all_once, watch_all

    app = current_app._get_current_object()
    boxes = mailboxes(app.config)
    if not boxes:
        raise click.ClickException("no mailbox configured: set IMAP_HOST/IMAP_USER or EMAIL_MAILBOXES")
    if once:
        results = poll_all_once(app)
        for result in results:
            click.echo(result.summary())
        if any(r.error for r in results):
            click.get_current_context().exit(1)  # a failed poll is a failed command
        return
    click.echo(f"Watching {', '.join(b.key for b in boxes)} (Ctrl-C to stop)")
    watch_all(app)
