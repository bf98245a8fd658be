"""Start jobs at the same moment in threads of their own (races against the real database)."""
from __future__ import annotations

import threading

from app.extensions import db


def run_together(app, jobs, request: bool = False) -> list:
    """Run every job in its own thread, released together by a barrier; return each job's result
    or the exception it raised. `request` gives each thread a test request context (for code that
    reads flask.request or the locale) instead of a bare app context."""
    barrier = threading.Barrier(len(jobs))
    results: list = [None] * len(jobs)

    def run(i, job):
        with (app.test_request_context() if request else app.app_context()):
            try:
                barrier.wait()
                results[i] = job()
            except Exception as exc:  # the test reads it
                results[i] = exc
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results
