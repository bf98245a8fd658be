"""A mailbox's history: which fetched mail is imported as history, and the import's progress line.

A shop connecting a mailbox with years of mail sets a cutoff (`flask poll email --history-before
DATE`, or `history_before` on the mailbox / EMAIL_HISTORY_BEFORE). Mail from before it is stored,
threaded and searchable, but its tickets are closed and nothing live happens
(app.ingest.history). A message counts as history only when BOTH its own date (Date header) and
its arrival in the mailbox (IMAP INTERNALDATE, which imapsync and the usual migration tools keep)
are before the cutoff: a message that arrived after it is handled live whatever its Date header
says, so a customer's mail with a wrong clock is never closed unseen.
"""
from __future__ import annotations

import time
from datetime import date, datetime, time as dtime
from typing import Callable, Optional
from zoneinfo import ZoneInfo


def parse_cutoff(value, tz: str = "Asia/Tokyo") -> Optional[datetime]:
    """An aware UTC cutoff from a datetime, a date or an ISO string ('2026-04-01', '2026-04-01
    09:00', '…+09:00'); dates and naive times are in `tz` (the shop's time zone). None/'' -> None."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(f"not a date (YYYY-MM-DD or an ISO 8601 date-time): {text!r}") from exc
        if len(text) == 10:  # a bare date: midnight at the shop
            value = value.date()
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, dtime())
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(ZoneInfo("UTC"))


def is_history(created_at: datetime, internaldate: Optional[datetime], cutoff: Optional[datetime]) -> bool:
    """Whether a fetched message is imported as history (see the module docstring)."""
    if cutoff is None:
        return False
    return created_at < cutoff and (internaldate is None or internaldate < cutoff)


class Progress:
    """'n of N' lines with rate and ETA for a long import, at most every `every` seconds."""

    def __init__(self, mailbox: str, total: int, out: Callable[[str], None], every: float = 2.0,
                 clock: Callable[[], float] = time.monotonic):
        self.mailbox, self.total, self.out, self.every, self.clock = mailbox, total, out, every, clock
        self.started = self.last = clock()

    def line(self, done: int, history: int, now: Optional[float] = None) -> str:
        elapsed = max((self.clock() if now is None else now) - self.started, 1e-9)
        rate = done / elapsed
        share = f" ({done / self.total:.0%})" if self.total else ""
        left = (self.total - done) / rate if rate and self.total > done else 0
        eta = f", about {int(left // 60)}m{int(left % 60):02d}s left" if left else ""
        filled = int(20 * done / self.total) if self.total else 20
        return (f"{self.mailbox} [{'#' * filled}{'.' * (20 - filled)}] {done} of {self.total}{share}, "
                f"{history} as history, {rate:.0f} msg/s{eta}")

    def update(self, done: int, history: int, final: bool = False) -> None:
        now = self.clock()
        if final or now - self.last >= self.every:
            self.last = now
            self.out(self.line(done, history, now))


def to_stderr(text: str) -> None:
    import click

    click.echo(text, err=True)
