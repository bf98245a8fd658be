"""Private database servers for the benchmarks (the same classes the test fixtures use)."""
from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


@contextmanager
def private_postgres() -> Iterator["PostgresServer"]:  # noqa: F821 - imported lazily below
    """A throwaway PostgreSQL cluster on a free loopback port, removed afterwards."""
    from tests.servers import ensure_installed
    from tests.servers.postgres import PostgresServer

    initdb = ensure_installed("/usr/lib/postgresql/*/bin/initdb")
    base = Path(tempfile.mkdtemp(prefix="tsunagu-bench-pg-"))  # initdb chowns it to postgres
    server = PostgresServer(Path(initdb).parent, base)
    try:
        server.initdb()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
