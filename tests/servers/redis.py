"""pytest plugin: a private Redis server for the whole session.

Owns: fixture ``redis_server`` (session) -> :class:`RedisServer`.

Runs redis-server on 127.0.0.1:<free port> with persistence off (no RDB, no AOF),
so nothing is written outside its temp dir. Used for the Socket.IO message queue
and the rate limiter's storage in multi-process tests. The system Redis, if
any, is never used.
"""
from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from tests.servers import HOST, ServerError, ensure_installed, free_port, log_tail, spawn, stop_process, wait_for_port


class RedisServer:
    def __init__(self, binary: str, root: Path):
        self.binary = binary
        self.root = root
        self.log = root / "redis.log"
        self.host = HOST
        self.port = free_port()
        self.url = f"redis://{self.host}:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> None:
        self.proc = spawn([self.binary, "--bind", HOST, "--port", str(self.port), "--save", "",
                           "--appendonly", "no", "--dir", str(self.root), "--daemonize", "no",
                           "--protected-mode", "no"], self.log, cwd=self.root)
        try:
            wait_for_port(self.port, self.proc, timeout, self.log, "redis-server")
            if self.command(b"PING") != b"+PONG\r\n":
                raise ServerError(f"redis-server did not answer PING{log_tail(self.log)}")
        except Exception:
            self.stop()
            raise

    def stop(self) -> None:
        stop_process(self.proc, signal.SIGTERM)
        self.proc = None

    def command(self, *words: bytes) -> bytes:
        """Send one inline command, return the raw first reply line (no client lib needed)."""
        with socket.create_connection((self.host, self.port), timeout=5) as s:
            s.sendall(b" ".join(words) + b"\r\n")
            return s.recv(65536)

    def flushall(self) -> None:
        """Empty every database (between tests that share the session server)."""
        self.command(b"FLUSHALL")


@pytest.fixture(scope="session")
def redis_server():
    binary = ensure_installed("/usr/bin/redis-server")
    root = Path(tempfile.mkdtemp(prefix="tsunagu-redis-"))
    server = RedisServer(binary, root)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
