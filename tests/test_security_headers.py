"""Every HTML page carries a strict CSP and contains nothing that CSP would have to allow inline."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from app.extensions import db
from tests.security_helpers import build_world

_DATA_SCRIPT_TYPES = {"application/json", "application/ld+json", "text/template"}
_URL_ATTRS = {"href", "src", "action", "formaction", "data", "xlink:href"}


class _Auditor(HTMLParser):
    """Collects what a nonce-based CSP without 'unsafe-inline' would block (or should)."""

    def __init__(self, nonce: str):
        super().__init__(convert_charrefs=True)
        self.nonce, self.problems = nonce, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> event handler attribute")
            if name == "style":
                self.problems.append(f"<{tag} style=…> inline style attribute")
            if name in _URL_ATTRS and (value or "").strip().lower().replace("\t", "").startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:…>")
        if tag == "script" and not a.get("src") and (a.get("type") or "").lower() not in _DATA_SCRIPT_TYPES:
            if a.get("nonce") != self.nonce:
                self.problems.append("inline <script> without the request's nonce")
        if tag == "style" and a.get("nonce") != self.nonce:
            self.problems.append("<style> element without the nonce")


def audit(response) -> list[str]:
    csp = response.headers.get("Content-Security-Policy", "")
    problems = []
    directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
    script = directives.get("script-src", "")
    if not script or "'unsafe-inline'" in script or "'unsafe-eval'" in script:
        problems.append(f"script-src is not strict: {script!r}")
    if "'unsafe-inline'" in directives.get("style-src", ""):
        problems.append("style-src allows 'unsafe-inline'")
    for needed in ("frame-ancestors 'none'", "object-src 'none'", "base-uri 'self'", "form-action 'self'",
                   "img-src 'self' data:"):
        if needed not in csp:
            problems.append(f"CSP lacks {needed}")
    if response.headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("no nosniff")
    if response.headers.get("Referrer-Policy") != "same-origin":
        problems.append("Referrer-Policy is not same-origin")
    nonce = (re.search(r"'nonce-([^']+)'", script) or [None, None])[1]
    parser = _Auditor(nonce)
    parser.feed(response.get_data(as_text=True))
    return problems + parser.problems


def _html_get_urls(app, world) -> list[str]:
    ids = {"ticket_id": world.ticket.id, "customer_id": world.ticket.customer_id}
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or rule.rule.startswith("/api/"):
            continue
        if set(rule.arguments) <= set(ids):
            urls.append(rule.build({k: ids[k] for k in rule.arguments}, append_unknown=False)[1])
    return sorted(set(urls))


def test_every_page_has_a_strict_csp_and_no_inline_code(app, client, login_as):
    world = build_world()
    world.ticket.team_id = None
    db.session.commit()
    login_as(world.supervisor)
    checked, failures = 0, {}
    for url in _html_get_urls(app, world):
        response = client.get(url)
        assert response.status_code < 500, (url, response.status_code)
        if response.status_code == 200 and response.mimetype == "text/html":
            checked += 1
            problems = audit(response)
            if problems:
                failures[url] = problems
    assert checked >= 10, checked
    assert not failures, failures


def test_login_page_and_errors_have_headers_too(client):
    for url in ("/login", "/no-such-page"):
        response = client.get(url)
        assert not audit(response), (url, audit(response))


def test_nonce_changes_per_request_and_is_exposed_to_templates(app, client):
    first = client.get("/login").headers["Content-Security-Policy"]
    second = client.get("/login").headers["Content-Security-Policy"]
    assert first != second
    with app.test_request_context("/"):
        from flask import render_template_string

        html = render_template_string('<script nonce="{{ csp_nonce() }}"></script>')
        assert "nonce=" in html and len(html) > 40


def test_hsts_only_in_production(app, client, monkeypatch, tmp_path):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    from app import create_app
    from config import ProductionConfig

    monkeypatch.setenv("SECRET_KEY", "a-real-production-secret-0123456789")
    prod = create_app(ProductionConfig, SQLALCHEMY_DATABASE_URI="sqlite://",
                      INSTANCE_DIR=str(tmp_path / "prod"), SECRET_KEY="a-real-production-secret-0123456789")
    response = prod.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert prod.config["SESSION_COOKIE_SECURE"] is True
    assert prod.config["SESSION_COOKIE_HTTPONLY"] is True
    assert prod.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert prod.config["REMEMBER_COOKIE_SECURE"] is True and prod.config["REMEMBER_COOKIE_HTTPONLY"] is True


@pytest.mark.parametrize("secret", [None, "", "dev-only-not-secret"])
def test_production_refuses_a_default_secret_key(monkeypatch, secret):
    from app import create_app
    from config import ProductionConfig

    if secret is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
