"""The IMAP side of the email channel (imapclient): mailbox settings, fetching, IDLE.

No database here: `ImapSession` opens one folder read-only, reports its UIDVALIDITY, lists the
UIDs after a cursor with their sizes, and fetches them with `BODY.PEEK[]` (the \\Seen flag stays
as the humans left it) in batches bounded by count AND bytes, so one 20 MB mail is fetched alone
and memory stays flat however big the mailbox. The poller (poller.py) decides what to store.
"""
from __future__ import annotations

import imaplib
import json
import random
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterator, Optional

from imapclient import IMAPClient

from app.channels.email.history import parse_cutoff

#: What a dropped connection, a dead server or a timeout raises: reconnect with backoff.
CONNECTION_ERRORS = (imaplib.IMAP4.error, OSError, socket.timeout, ssl.SSLError, EOFError)


@dataclass(frozen=True)
class MailboxConfig:
    """One IMAP account + folder, polled on its own with its own ChannelState row (`key`)."""

    key: str
    host: str
    user: str
    password: str = ""
    port: int = 993
    ssl: bool = True
    starttls: bool = False
    folder: str = "INBOX"
    timeout: float = 30.0
    #: Mail from before this (aware) moment is imported as closed history (email/history.py).
    history_before: Optional[datetime] = None

    def __repr__(self) -> str:  # never print the password in logs
        return f"<Mailbox {self.key} {self.host}:{self.port}>"


def mailboxes(config: Any) -> list[MailboxConfig]:
    """Configured mailboxes: EMAIL_MAILBOXES (a list, or JSON of one) or the single IMAP_* set.

    Entries may leave out anything the IMAP_* settings provide (e.g. only user and password when
    support@ and returns@ live on one server).
    """
    entries = config.get("EMAIL_MAILBOXES") or []
    if isinstance(entries, str):
        entries = json.loads(entries) if entries.strip() else []
    if not entries and config.get("IMAP_HOST") and config.get("IMAP_USER"):
        entries = [{}]
    boxes = []
    for entry in entries:
        host = entry.get("host") or config.get("IMAP_HOST")
        user = entry.get("user") or config.get("IMAP_USER")
        folder = entry.get("folder") or config.get("IMAP_FOLDER") or "INBOX"
        if not host or not user:
            raise ValueError(f"EMAIL_MAILBOXES entry without host/user: {sorted(entry)}")
        use_ssl = entry.get("ssl", config.get("IMAP_SSL", True))
        boxes.append(MailboxConfig(
            key=(entry.get("key") or f"{user}/{folder}")[:300], host=host, user=user,
            password=entry.get("password", config.get("IMAP_PASSWORD") or ""),
            port=int(entry.get("port") or config.get("IMAP_PORT") or (993 if use_ssl else 143)),
            ssl=bool(use_ssl), starttls=bool(entry.get("starttls", config.get("IMAP_STARTTLS", False))),
            folder=folder, timeout=float(entry.get("timeout") or config.get("IMAP_TIMEOUT") or 30),
            history_before=parse_cutoff(entry.get("history_before", config.get("EMAIL_HISTORY_BEFORE")),
                                        config.get("TIMEZONE") or "Asia/Tokyo"),
        ))
    keys = [b.key for b in boxes]
    if len(keys) != len(set(keys)):
        raise ValueError(f"EMAIL_MAILBOXES keys must be unique: {keys}")
    return boxes


@dataclass(frozen=True)
class FolderInfo:
    uidvalidity: int
    uidnext: Optional[int]
    exists: int


@dataclass(frozen=True)
class Fetched:
    uid: int
    raw: bytes
    internaldate: Optional[datetime]


def backoff(attempt: int, base: float = 1.0, cap: float = 60.0) -> float:
    """1 s, 2 s, 4 s ... capped, with jitter so mailboxes on one server do not reconnect in step."""
    return min(cap, base * (2 ** max(attempt - 1, 0))) * random.uniform(0.75, 1.25)


class ImapSession:
    """One connection to one folder of one mailbox."""

    def __init__(self, box: MailboxConfig):
        self.box = box
        self.client: Optional[IMAPClient] = None

    def open(self) -> FolderInfo:
        box = self.box
        context = ssl.create_default_context() if (box.ssl or box.starttls) else None
        client = IMAPClient(box.host, box.port, ssl=box.ssl, ssl_context=context, timeout=box.timeout)
        try:
            client.normalise_times = False  # aware INTERNALDATEs, not server-local naive ones
            if box.starttls and not box.ssl:
                client.starttls(context)
            client.login(box.user, box.password)
            # EXAMINE: read-only, and BODY.PEEK[] leaves \\Seen alone for the humans anyway.
            info = client.select_folder(box.folder, readonly=True)
        except BaseException:
            _quiet_close(client)
            raise
        self.client = client
        return FolderInfo(int(info[b"UIDVALIDITY"]), int(info[b"UIDNEXT"]) if b"UIDNEXT" in info else None,
                          int(info.get(b"EXISTS", 0)))

    def pending(self, after_uid: int) -> list[tuple[int, int]]:
        """(uid, size) of every message with a UID above `after_uid`, oldest first."""
        # "n:*" also matches the highest UID when n is above it: filter.
        uids = sorted(uid for uid in self.client.search(["UID", f"{after_uid + 1}:*"]) if uid > after_uid)
        sizes: list[tuple[int, int]] = []
        for start in range(0, len(uids), 1000):  # keeps each command line short
            chunk = uids[start:start + 1000]
            found = self.client.fetch(chunk, ["RFC822.SIZE"])
            sizes.extend((uid, int(found[uid].get(b"RFC822.SIZE", 0))) for uid in chunk if uid in found)
        return sizes

    def fetch(self, uids: list[int]) -> list[Fetched]:
        found = self.client.fetch(uids, ["BODY.PEEK[]", "INTERNALDATE"])
        out = []
        for uid in sorted(found):
            data = found[uid]
            raw = data.get(b"BODY[]")
            if raw is None:
                continue  # expunged between listing and fetching
            date = data.get(b"INTERNALDATE")
            if isinstance(date, datetime) and date.tzinfo is None:
                date = date.replace(tzinfo=timezone.utc)
            out.append(Fetched(uid, bytes(raw), date if isinstance(date, datetime) else None))
        return out

    def batches(self, after_uid: int, max_count: int, max_bytes: int) -> Iterator[tuple[int, list[Fetched]]]:
        """Yield (highest uid covered, messages) per batch after `after_uid`."""
        group: list[int] = []
        size = 0
        for uid, nbytes in self.pending(after_uid):
            if group and (len(group) >= max_count or size + nbytes > max_bytes):
                yield group[-1], self.fetch(group)
                group, size = [], 0
            group.append(uid)
            size += nbytes
        if group:
            yield group[-1], self.fetch(group)

    def wait(self, timeout: float) -> bool:
        """Block until the server reports a change (IDLE) or `timeout`; False without IDLE."""
        if not self.client.has_capability("IDLE"):
            return False
        self.client.idle()
        try:
            responses = self.client.idle_check(timeout=timeout)
        finally:
            self.client.idle_done()
        return any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)

    def close(self) -> None:
        _quiet_close(self.client)
        self.client = None


def _quiet_close(client: Optional[IMAPClient]) -> None:
    if client is None:
        return
    try:
        client.logout()
    except Exception:  # noqa: BLE001 - the connection may already be dead; nothing to save
        try:
            client.shutdown()
        except Exception:  # noqa: BLE001
            pass
