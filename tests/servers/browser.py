"""pytest plugin: headless Debian Chromium driven by Playwright (sync API).

Owns: fixtures ``browser`` (session) -> playwright Browser, and ``new_context``
(function) -> factory ``new_context(locale="ja-JP", **kwargs)`` returning a fresh
BrowserContext (isolated cookies/storage), all closed at teardown.

Playwright's own browser downloads are never used (``playwright install`` needs
the internet): we launch /usr/bin/chromium from Debian. The flags keep it from
phoning home (this machine's closed network refuses those connections) and let
it run as root.
"""
from __future__ import annotations

import pytest

from tests.servers import ServerError, ensure_installed

CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEFAULT_TIMEOUT_MS = 10_000  # fail a stuck locator in 10s, not Playwright's 30s


@pytest.fixture(scope="session")
def browser():
    executable = ensure_installed("/usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        try:
            browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        except Exception as exc:
            raise ServerError(f"could not launch {executable} through Playwright: {exc}") from exc
        try:
            yield browser
        finally:
            browser.close()
    finally:
        pw.stop()


@pytest.fixture
def new_context(browser):
    contexts = []

    def factory(locale: str = "ja-JP", **kwargs):
        context = browser.new_context(locale=locale, **kwargs)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return context

    yield factory
    for context in contexts:
        context.close()
