"""pytest plugin: a private Dovecot IMAP server per test.

Owns: fixtures ``dovecot_install`` (session: binary + mail account facts) and
``dovecot`` (function) -> :class:`DovecotServer`.

Each test gets a fresh instance (own config via ``dovecot -c``, base_dir, state
and Maildir in a temp dir; plaintext LOGIN on 127.0.0.1 on a free port; no SSL),
so mailbox state, UIDs and UIDVALIDITY never leak between tests. Start-up takes
well under a second. Mail is injected by writing straight into the Maildir, as a
local delivery agent would, and the crash/reset helpers (kill, restart,
change_uidvalidity) let tests exercise a poller's recovery paths.
"""
from __future__ import annotations

import grp
import imaplib
import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import HOST, ServerError, ensure_installed, free_port, log_tail, spawn, stop_process, wait_for_port

USER = "support@tsunagu.test"
PASSWORD = "imap-test-password"

CONFIG = """\
# Written by tests/servers/dovecot.py for one test; see that module.
protocols = imap
listen = {host}
base_dir = {root}/run
state_dir = {root}/state
instance_name = tsunagu-test-{port}
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# Failed logins are answered at once (default waits 2s), so auth tests stay fast.
auth_failure_delay = 0
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = {mail_uid}
first_valid_gid = {mail_gid}
mail_location = maildir:~/Maildir
mail_fsync = never
passdb {{
  driver = passwd-file
  args = {root}/passwd
}}
userdb {{
  driver = passwd-file
  args = {root}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
protocol imap {{
  # Tests open many connections as one user from one IP (default limit 10).
  mail_max_userip_connections = 500
}}
"""


@dataclass(frozen=True)
class DovecotInstall:
    binary: str
    version: str
    mail_uid: int  # owner of the Maildir and of the imap processes
    mail_gid: int
    internal_user: str
    internal_group: str
    login_user: str


class DovecotServer:
    folder = "INBOX"

    def __init__(self, install: DovecotInstall, root: Path):
        self.install = install
        self.root = root
        self.host = HOST
        self.port = free_port()  # kept across restarts, like a real server
        self.user = USER
        self.password = PASSWORD
        self.home = root / "home"
        self.maildir = self.home / "Maildir"
        self.conf = root / "dovecot.conf"
        self.log = root / "dovecot.log"
        self.proc: subprocess.Popen | None = None
        self._seq = itertools.count(1)

    def write_config(self) -> None:
        i = self.install
        self.conf.write_text(CONFIG.format(
            host=HOST, port=self.port, root=self.root, mail_uid=i.mail_uid, mail_gid=i.mail_gid,
            internal_user=i.internal_user, internal_group=i.internal_group, login_user=i.login_user))
        (self.root / "passwd").write_text(
            f"{USER}:{{PLAIN}}{PASSWORD}:{i.mail_uid}:{i.mail_gid}::{self.home}::\n")
        (self.root / "state").mkdir(exist_ok=True)
        self._mailbox_dir("INBOX")

    # -- lifecycle ---------------------------------------------------------
    def start(self, timeout: float = 10.0) -> None:
        if self.proc is not None:
            raise ServerError("dovecot already running")
        self.proc = spawn([self.install.binary, "-F", "-c", str(self.conf)], self.log)
        try:
            # The master owns the listener, so an accepted connection means
            # LOGIN will be served (a login process is forked per client).
            wait_for_port(self.port, self.proc, timeout, self.log, "dovecot")
            with socket.create_connection((self.host, self.port), timeout=5) as conn:
                greeting = conn.recv(512)
            if b"Dovecot" not in greeting or self.proc.poll() is not None:  # someone else's port?
                raise ServerError(f"unexpected IMAP greeting on {self.port}: {greeting!r}{log_tail(self.log)}")
        except Exception:
            self.kill()
            raise

    def stop(self) -> None:
        """Clean shutdown: the master ends every child; clients see a BYE/EOF."""
        stop_process(self.proc, signal.SIGTERM)
        self.proc = None

    def kill(self) -> None:
        """Crash: SIGKILL the master and every child (open sessions drop dead)."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    # -- mailbox -----------------------------------------------------------
    def _mailbox_dir(self, folder: str) -> Path:
        """Maildir++ path of ``folder``, created (owned by the mail uid) if missing."""
        path = self.maildir if folder.upper() == "INBOX" else self.maildir / ("." + folder.replace("/", "."))
        if not (path / "new").is_dir():
            for sub in ("cur", "new", "tmp"):
                (path / sub).mkdir(parents=True, exist_ok=True)
            if path != self.maildir:
                (path / "maildirfolder").touch()
            self._chown_tree(self.home)
        return path

    def _chown_tree(self, top: Path) -> None:
        if os.geteuid() != 0:
            return
        uid, gid = self.install.mail_uid, self.install.mail_gid
        os.chown(top, uid, gid)
        for dirpath, dirnames, filenames in os.walk(top):
            for name in dirnames + filenames:
                os.chown(os.path.join(dirpath, name), uid, gid)

    def deliver(self, raw: bytes, folder: str = "INBOX") -> str:
        """Drop ``raw`` into ``folder``'s Maildir new/ the way an MDA does: write
        under tmp/, then rename (atomic) under a unique name. Dovecot picks it
        up on the client's next SELECT/NOOP/STATUS (or at once under IDLE).
        Returns the file name."""
        box = self._mailbox_dir(folder)
        now = time.time()
        name = f"{int(now)}.M{int(now * 1e6) % 1_000_000}P{os.getpid()}Q{next(self._seq)}.tsunagu,S={len(raw)}"
        tmp = box / "tmp" / name
        tmp.write_bytes(raw)
        if os.geteuid() == 0:
            os.chown(tmp, self.install.mail_uid, self.install.mail_gid)
        os.rename(tmp, box / "new" / name)
        return name

    def message_count(self, folder: str = "INBOX") -> int:
        """Messages on disk in ``folder`` (new/ + cur/), whatever IMAP saw so far."""
        box = self._mailbox_dir(folder)
        return sum(1 for sub in ("new", "cur") for p in (box / sub).iterdir() if not p.name.startswith("."))

    def uidvalidity(self, folder: str = "INBOX") -> int:
        """UIDVALIDITY as an IMAP client sees it now (server must be running)."""
        imap = imaplib.IMAP4(self.host, self.port, timeout=10)
        try:
            imap.login(self.user, self.password)
            typ, data = imap.status(f'"{folder}"', "(UIDVALIDITY)")
            if typ != "OK":
                raise ServerError(f"STATUS {folder} failed: {data}")
            return int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))
        finally:
            imap.logout()

    def change_uidvalidity(self, folder: str = "INBOX") -> int:
        """Make ``folder`` come back with a new UIDVALIDITY (messages renumbered
        from UID 1), as after a server rebuild. Stops and starts the server.
        Returns the new value; raises if Dovecot kept the old one."""
        was_running = self.proc is not None
        if not was_running:
            self.start()
        old = self.uidvalidity(folder)
        self.stop()
        box = self._mailbox_dir(folder)
        # UIDs live in dovecot-uidlist and the indexes cache them (the mailbox
        # list index too, for STATUS). dovecot-uidvalidity at the Maildir root
        # is the "last value handed out" counter: keep it, so the next value is
        # strictly greater even within the same second.
        for pattern in ("dovecot-uidlist", "dovecot.index*"):
            for path in box.glob(pattern):
                path.unlink()
        for path in self.maildir.glob("dovecot.list.index*"):
            path.unlink()
        self.start()
        new = self.uidvalidity(folder)
        if new == old:
            raise ServerError(f"UIDVALIDITY of {folder} did not change ({old})")
        if not was_running:
            self.stop()
        return new


@pytest.fixture(scope="session")
def dovecot_install() -> DovecotInstall:
    ensure_installed("/usr/lib/dovecot/imap")
    binary = ensure_installed("/usr/sbin/dovecot")
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    # The config above is 2.3 syntax; 2.4 renamed most settings (e.g.
    # auth_allow_cleartext, mail_driver/mail_path) and needs its own template.
    if not version.startswith("2.3."):
        raise ServerError(f"tests/servers/dovecot.py supports Dovecot 2.3, found {version!r}")
    if os.geteuid() == 0:
        # Dovecot will not serve mail as root: the mailbox belongs to Debian's
        # 'dovecot' account, its helpers run as 'dovecot'/'dovenull'.
        pw = pwd.getpwnam("dovecot")
        return DovecotInstall(binary, version, pw.pw_uid, pw.pw_gid, "dovecot",
                              grp.getgrgid(pw.pw_gid).gr_name, "dovenull")
    me = pwd.getpwuid(os.getuid())  # unprivileged run: everything is us
    return DovecotInstall(binary, version, me.pw_uid, me.pw_gid, me.pw_name,
                          grp.getgrgid(me.pw_gid).gr_name, me.pw_name)


@pytest.fixture
def dovecot(dovecot_install):
    # Not pytest's tmp_path: its parents are 0700 root, and the imap processes
    # (mail uid) must reach the Maildir; /tmp dirs are short, too, which keeps
    # base_dir socket paths under the 108-byte limit.
    root = Path(tempfile.mkdtemp(prefix="tsunagu-dovecot-"))
    os.chmod(root, 0o755)
    server = DovecotServer(dovecot_install, root)
    try:
        server.write_config()
        server.start()
        yield server
    finally:
        try:
            # A clean stop lets the master reap its children; after kill() they
            # would linger as zombies where PID 1 does not reap (containers).
            server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


# -- outside pytest (bench/email_ingest.py) ------------------------------------------------------

def detect_install() -> DovecotInstall:
    """What the ``dovecot_install`` fixture returns, for scripts that run without pytest
    (the same checks; the fixture is left as it is)."""
    ensure_installed("/usr/lib/dovecot/imap")
    binary = ensure_installed("/usr/sbin/dovecot")
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    if not version.startswith("2.3."):
        raise ServerError(f"tests/servers/dovecot.py supports Dovecot 2.3, found {version!r}")
    if os.geteuid() == 0:
        pw = pwd.getpwnam("dovecot")
        return DovecotInstall(binary, version, pw.pw_uid, pw.pw_gid, "dovecot",
                              grp.getgrgid(pw.pw_gid).gr_name, "dovenull")
    me = pwd.getpwuid(os.getuid())
    return DovecotInstall(binary, version, me.pw_uid, me.pw_gid, me.pw_name,
                          grp.getgrgid(me.pw_gid).gr_name, me.pw_name)


def start_server() -> DovecotServer:
    """A private Dovecot like the ``dovecot`` fixture's; the caller stops it and removes
    ``server.root`` (see bench/email_ingest.py)."""
    root = Path(tempfile.mkdtemp(prefix="tsunagu-dovecot-"))
    os.chmod(root, 0o755)
    server = DovecotServer(detect_install(), root)
    server.write_config()
    server.start()
    return server
