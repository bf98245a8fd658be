"""Real servers on loopback for the test-suite, one pytest plugin module each.

Load them from tests/conftest.py::

    pytest_plugins = ["tests.servers.postgres", "tests.servers.dovecot",
                      "tests.servers.smtp", "tests.servers.browser",
                      "tests.servers.redis"]

Every fixture runs its OWN instance (temp dir, free port on 127.0.0.1) and never
touches the system services. A server that cannot start makes the fixture fail
with the server's log in the message; nothing here skips.

This module holds the small process helpers the plugins share.
"""
from __future__ import annotations

import glob
import os
import pwd
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
ENSURE_SCRIPT = REPO_ROOT / "scripts" / "ensure-test-system-packages.sh"
HOST = "127.0.0.1"


class ServerError(RuntimeError):
    """A test server could not be started or stopped."""


def ensure_installed(pattern: str) -> str:
    """Return the first path matching ``pattern``; run the ensure script if none.

    ``make test`` already runs the script; this covers a bare ``pytest`` call on
    a fresh machine.
    """
    found = sorted(glob.glob(pattern))
    if not found:
        subprocess.run(["bash", str(ENSURE_SCRIPT)], check=False)
        found = sorted(glob.glob(pattern))
    if not found:
        raise ServerError(f"{pattern} not found, even after running {ENSURE_SCRIPT}")
    return found[-1]  # highest version when the pattern has a version glob


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now, chosen BELOW the kernel's ephemeral
    range: a port the kernel hands out (bind to 0) can be handed out again as
    the local port of some client connection before our server binds it, or
    while it is stopped for restart(). Servers keep their port across restarts."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 0
    candidates = random.sample(range(10000, low), min(200, low - 10000)) if low > 11000 else []
    for port in candidates:
        with socket.socket() as s:
            try:
                s.bind((HOST, port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # odd port range: let the kernel choose
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None, timeout: float,
                  log: Path | None = None, what: str = "server") -> None:
    """Poll until something accepts on ``port``; fail fast if ``proc`` died."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise ServerError(f"{what} exited with {proc.returncode} before listening "
                              f"on {port}{log_tail(log)}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise ServerError(f"{what} not listening on {port} after {timeout}s{log_tail(log)}")
        time.sleep(0.02)


def log_tail(log: Path | None, lines: int = 30) -> str:
    if log is None or not Path(log).exists():
        return ""
    text = Path(log).read_text(errors="replace").splitlines()[-lines:]
    return f"\n--- {log} (last {len(text)} lines) ---\n" + "\n".join(text)


def spawn(argv: list[str], log: Path, *, user: str | None = None,
          deathsig: str = "TERM", cwd: str | os.PathLike | None = None,
          env: dict | None = None) -> subprocess.Popen:
    """Start a foreground server in its own process group, output to ``log``.

    ``user`` switches to that account only when we are root (PostgreSQL refuses
    to run as root); as a normal user the server just runs as us.

    The server is exec'd through ``setpriv --pdeathsig`` so the kernel signals it
    when pytest dies: a killed test run (e.g. pytest-timeout's thread method,
    which skips finalizers) then leaves no server holding a port. Popen changes
    the uid *before* setpriv runs, because a uid change clears the death signal.
    No preexec_fn: it is unsafe with the threads aiosmtpd and Playwright run.
    """
    creds = {}
    if user and os.geteuid() == 0:
        pw = pwd.getpwnam(user)
        creds = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
    if shutil.which("setpriv"):  # util-linux, Essential on Debian
        argv = ["setpriv", "--pdeathsig", deathsig, "--", *argv]
    with open(log, "ab") as out:
        return subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            cwd=cwd, env=env, start_new_session=True, **creds,
        )


def stop_process(proc: subprocess.Popen | None, sig: int = signal.SIGTERM,
                 timeout: float = 10.0) -> None:
    """Signal the whole process group, wait, and SIGKILL it if it lingers."""
    if proc is None:
        return
    for s in (sig, signal.SIGKILL):
        try:
            os.killpg(proc.pid, s)
        except ProcessLookupError:
            pass  # group already gone
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            continue
        # The leader is reaped; helpers it forked may still be in the group.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return
    raise ServerError(f"process {proc.pid} ({proc.args[0]}) would not die")
