"""pytest plugin: a private PostgreSQL cluster for the whole session.

Owns: fixture ``postgres_server`` (session) -> :class:`PostgresServer`.

The cluster is initdb'd into a temp dir, listens on 127.0.0.1 on a free port with
trust auth for the superuser ``postgres``, and is tuned for throwaway data
(fsync, synchronous_commit and full_page_writes off). The system cluster, if
any, is never used. Tests create their own databases with ``create_database``.
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.servers import HOST, ServerError, ensure_installed, free_port, log_tail, spawn, stop_process

PG_USER = "postgres"  # OS account the server runs as when we are root, and DB superuser


class PostgresServer:
    def __init__(self, bindir: Path, base: Path):
        self.bindir = bindir
        self.base = base
        self.datadir = base / "data"
        self.log = base / "postgres.log"
        self.host = HOST
        self.port = free_port()  # kept across restart() so URLs stay valid
        self.user = PG_USER
        self.proc: subprocess.Popen | None = None

    # -- addresses ---------------------------------------------------------
    def url(self, dbname: str) -> str:
        """SQLAlchemy URL (psycopg 3 driver)."""
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"

    def dsn(self, dbname: str = "postgres") -> str:
        """libpq URL, for psycopg.connect()."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    # -- lifecycle ---------------------------------------------------------
    def initdb(self) -> None:
        # PostgreSQL refuses to run as root, so as root the cluster belongs to
        # the postgres account; mkdtemp made the dir 0700 root, hence the chown.
        creds = {}
        if os.geteuid() == 0:
            pw = pwd.getpwnam(PG_USER)
            os.chown(self.base, pw.pw_uid, pw.pw_gid)
            creds = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        res = subprocess.run(
            [str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", PG_USER,
             "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            cwd=self.base, **creds,  # a cwd the postgres account can enter
        )
        if res.returncode != 0:
            raise ServerError(f"initdb failed ({res.returncode}):\n{res.stdout.decode(errors='replace')}")
        with open(self.datadir / "postgresql.conf", "a") as conf:
            conf.write(
                f"\n# tsunagu test cluster\n"
                f"listen_addresses = '{HOST}'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.base}'\n"  # not /var/run/postgresql
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
                "max_connections = 200\n"
                "log_min_messages = warning\n"
            )

    def start(self, timeout: float = 30.0) -> None:
        if self.proc is not None:
            raise ServerError("postgres already running")
        self.proc = spawn([str(self.bindir / "postgres"), "-D", str(self.datadir)], self.log,
                          user=PG_USER, deathsig="QUIT", cwd=self.base)
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                code, self.proc = self.proc.returncode, None
                raise ServerError(f"postgres exited with {code}{log_tail(self.log)}")
            try:  # the port opens before recovery ends, so ask for a real session
                psycopg.connect(self.dsn(), connect_timeout=2).close()
                return
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline:
                    self.stop()
                    raise ServerError(f"postgres not ready after {timeout}s: {exc}{log_tail(self.log)}")
                time.sleep(0.05)

    def stop(self) -> None:
        """Fast shutdown (SIGINT): open sessions are cut, like a real restart."""
        stop_process(self.proc, signal.SIGINT, timeout=30)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    # -- helpers -----------------------------------------------------------
    def create_database(self, name: str) -> str:
        """(Re)create database ``name``; returns its SQLAlchemy URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server():
    initdb = ensure_installed("/usr/lib/postgresql/*/bin/initdb")  # not /usr/local/bin wrappers
    base = Path(tempfile.mkdtemp(prefix="tsunagu-pg-"))
    server = PostgresServer(Path(initdb).parent, base)
    try:
        server.initdb()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
