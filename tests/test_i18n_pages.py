"""One language at a time: every page of the demo shop, rendered in English and in Japanese, shows
no UI text of the other language.

The demo data is seeded, a supervisor signs in, and every GET page of `app.url_map` is rendered
(ids filled from the seeded data; API, JSON, static files, hooks and downloads are not pages).
English render: a run of Japanese characters fails unless it is the shop's own data (names,
subjects, bodies, products … anything stored in the database) or sits inside an element marked
as user content (`data-user-content` or a `lang` attribute). Japanese render: an English word
fails when it is a word of the English catalogue (its msgids) and not part of the stored data.
Both renders go through the same client one after the other, so a label cached in the first
request's language would show up in the second.
"""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import refresh
from sqlalchemy import String, Text, select

from app.demo import data, sinks
from app.extensions import db
from app.models import Agent
from app.outbox import deliver_due

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f々〆〇ー]+")
ENGLISH_WORD = re.compile(r"(?<![A-Za-z0-9_@./:-])[A-Za-z]{3,}(?![A-Za-z0-9_@.-])")
#: Words that are the same in both UIs (brands, codes, units a Japanese screen writes in Latin).
SHARED_WORDS = {"tsunagu", "sla", "api", "csv", "url", "smtp", "imap", "html", "json", "http", "https",
                "nps", "csat", "faq", "ok", "id", "pdf", "utc", "jst", "www", "com", "example", "line",
                "webhook", "developers"}
#: Elements whose text is not shown as UI copy.
SKIPPED_TAGS = {"script", "style", "template", "code", "pre", "textarea", "kbd", "samp"}
#: Inline markup that does not end a piece of text (search highlights split a body's words).
INLINE_TAGS = {"mark", "b", "strong", "em", "i", "u", "wbr"}
TEXT_ATTRIBUTES = ("title", "placeholder", "aria-label", "alt")
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
             "track", "wbr"}
NOT_PAGES = ("api.", "static", "ops.", "attachments.", "survey.", "line.", "hooks")


class _UiText(HTMLParser):
    """The page's visible text outside user content, as (text, path) pieces."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, hidden-from-check)
        self.pieces: list[str] = []
        self._open = ""

    def _hidden(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def _flush(self) -> None:
        if self._open.strip():
            self.pieces.append(" ".join(self._open.split()))
        self._open = ""

    def handle_starttag(self, tag, attrs):
        if tag in INLINE_TAGS:
            return
        self._flush()
        names = dict(attrs)
        hidden = (self._hidden() or tag in SKIPPED_TAGS or "data-user-content" in names or "lang" in names)
        if not hidden:  # words a person reads in attributes: tooltips, placeholders, labels
            self.pieces += [" ".join(names[a].split()) for a in TEXT_ATTRIBUTES if names.get(a)]
        if tag in VOID_TAGS:
            return
        self.stack.append((tag, hidden))

    def handle_endtag(self, tag):
        if tag in INLINE_TAGS or tag in VOID_TAGS:
            return
        self._flush()
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, text):
        if not self._hidden():
            self._open += text


def ui_text(html: str) -> list[str]:
    parser = _UiText()
    # The root <html lang="…"> says the page's language, it is not a user-content marker.
    parser.feed(re.sub(r"<html\b[^>]*>", "<html>", html, count=1))
    parser._flush()
    return parser.pieces


def stored_text() -> str:
    """Every string the database holds (the shop's data), one per line."""
    values: list[str] = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns
                   if isinstance(c.type, (String, Text)) or c.type.__class__.__name__ == "JSON"]
        if not columns:
            continue
        for row in db.session.execute(select(*columns)):
            for value in row:
                if isinstance(value, str):
                    values.append(value)
                elif value is not None:
                    values.append(json.dumps(value, ensure_ascii=False))
    return "\n".join(values)


def catalogue_words() -> set[str]:
    """English words of the UI: the msgids of the Japanese catalogue, minus words it keeps."""
    path = Path(__file__).resolve().parents[1] / "app" / "translations" / "ja" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as fh:
        catalog = read_po(fh)
    words, kept = set(), set()
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strs = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in ids:
            words.update(w.lower() for w in re.findall(r"[A-Za-z]{4,}", _no_placeholders(text)))
        for text in strs:
            kept.update(w.lower() for w in re.findall(r"[A-Za-z]{3,}", _no_placeholders(text or "")))
    return words - kept - SHARED_WORDS


def _no_placeholders(text: str) -> str:
    return re.sub(r"%\(\w+\)\w|\{\w*\}|<[^>]*>", " ", text)


def _first_id(model_name: str, default: int = 1) -> int:
    from app import models

    model = getattr(models, model_name, None)
    if model is None:
        return default
    return db.session.scalar(select(model.id).order_by(model.id)) or default


#: A URL argument's name -> the model whose first row fills it.
ARG_MODELS = {"ticket_id": "Ticket", "customer_id": "Customer", "message_id": "Message",
              "macro_id": "Macro", "policy_id": "SLAPolicy", "agent_id": "Agent", "user_id": "Agent",
              "team_id": "Team", "item_id": "OutboxItem", "attachment_id": "Attachment",
              "coupon_id": "Coupon", "term_id": "ReplyCheckTerm", "post_id": "ListeningPost",
              "case_id": "RetentionCase", "token_id": "ApiToken", "calendar_id": "BusinessCalendar"}


def page_urls(app) -> list[str]:
    """Every GET page of the app, with ids of seeded rows; tickets and customers several times."""
    from app.models import Customer, Message, Ticket

    busiest = db.session.scalars(
        select(Message.customer_id).group_by(Message.customer_id)
        .order_by(db.func.count(Message.id).desc()).limit(3)).all()
    tickets = set(db.session.scalars(select(Ticket.id).order_by(Ticket.id.desc()).limit(6)).all())
    for channel in ("email", "x", "phone"):
        tickets.update(db.session.scalars(select(Ticket.id).where(Ticket.channel == channel).limit(1)))
    tickets.update(db.session.scalars(select(Ticket.id).where(Ticket.intent.is_not(None)).limit(3)))
    urls: list[str] = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint.startswith(NOT_PAGES) or rule.rule.endswith(
                (".json", ".csv")) or "/hooks" in rule.rule or "export" in rule.rule:
            continue
        args = set(rule.arguments)
        if args - set(ARG_MODELS):
            continue  # an argument we cannot fill from the data (a token, a file name)
        choices: list[dict] = [{}]
        if "ticket_id" in args:
            choices = [{"ticket_id": t} for t in sorted(tickets)]
        elif "customer_id" in args:
            choices = [{"customer_id": c} for c in busiest if c]
        for extra in choices:
            values = {name: extra.get(name) or _first_id(ARG_MODELS[name]) for name in args}
            with app.test_request_context():
                from flask import url_for
                urls.append(url_for(rule.endpoint, **values))
    urls += ["/search?q=" + q for q in ("配送", "解約", "hanako")] + ["/?status=all", "/reports/?group_by=channel",
                                                                        "/reports/?group_by=priority"]
    return sorted(set(urls))


def _render_all(client, urls, locale: str) -> dict[str, str]:
    agent = db.session.scalar(select(Agent).where(Agent.email == "supervisor@demo.example"))
    agent.locale = locale
    db.session.commit()
    pages = {}
    for url in urls:
        # The test's app context is shared with the client's requests: forget its cached locale.
        refresh()
        response = client.get(url)
        assert response.status_code < 500, (url, response.data[:500])
        if response.status_code == 200 and response.mimetype == "text/html":
            pages[url] = response.get_data(as_text=True)
    return pages


@pytest.fixture
def demo(app, runner, client):
    result = runner.invoke(args=["seed-demo", "--customers", "24"])
    assert result.exit_code == 0, result.output
    _replies_that_fail()
    sinks.start(app)  # then the demo's local mail server: one reply leaves, the demo mailbox shows it
    try:
        _reply_on("email", "お待たせいたしました。本日発送いたしました。")
        deliver_due()
        response = client.post("/login", data={"email": "supervisor@demo.example", "password": data.PASSWORD})
        assert response.status_code == 302
        yield client
    finally:
        sinks.stop()


def _replies_that_fail() -> None:
    """An email reply with no mail server configured and an X reply with no keys: the outbox
    tries them, so the pages show delivery errors (the server's own words stay English)."""
    for channel, body in (("email", "ご連絡ありがとうございます。確認いたします。"), ("x", "DMでご注文番号をお知らせください。")):
        _reply_on(channel, body)
    deliver_due()


def _reply_on(channel: str, body: str) -> None:
    from app.models import Ticket
    from app.tickets.services import add_reply

    agent = db.session.scalar(select(Agent).where(Agent.email == "agent@demo.example"))
    ticket = db.session.scalar(select(Ticket).where(Ticket.channel == channel).order_by(Ticket.id.desc()))
    add_reply(agent, ticket, body, confirmed=True)


def _japanese_leaks(pages: dict[str, str], stored: str) -> list[str]:
    runs = {r for r in JAPANESE.findall(stored)}
    leaks = []
    for url, html in pages.items():
        for piece in ui_text(html):
            for run in JAPANESE.findall(piece):
                if run in runs or (len(run) >= 5 and run in stored):
                    continue
                leaks.append(f"{url}: {run!r} in {piece[:90]!r}")
    return leaks


def _english_leaks(pages: dict[str, str], stored: str, words: set[str]) -> list[str]:
    stored_words = {w.lower() for w in re.findall(r"[A-Za-z]{3,}", stored)}
    leaks = []
    for url, html in pages.items():
        for piece in ui_text(html):
            for word in ENGLISH_WORD.findall(piece):
                if word.lower() in words and word.lower() not in stored_words:
                    leaks.append(f"{url}: {word!r} in {piece[:90]!r}")
    return leaks


def _report(leaks: list[str]) -> str:
    """One line per leaked text, with the first page that showed it."""
    first: dict[str, str] = {}
    for leak in leaks:
        url, _, text = leak.partition(": ")
        first.setdefault(text, url)
    return f"{len(first)} texts:\n" + "\n".join(f"{t}  ({u})" for t, u in sorted(first.items())[:150])


def test_every_page_speaks_one_language(app, demo):
    urls = page_urls(app)
    assert len(urls) >= 25, urls
    words = catalogue_words()
    assert {"ticket", "customer", "reply"} <= words  # the stoplist is the catalogue's words

    # Japanese first, English second, Japanese again: a label kept from an earlier request shows.
    first_ja = _render_all(demo, urls, "ja")
    english = _render_all(demo, urls, "en")
    japanese = _render_all(demo, urls, "ja")
    assert len(english) >= 20 and english.keys() == japanese.keys() == first_ja.keys()
    stored = stored_text()  # after the renders: a page may store the shop's defaults (coupon reasons)

    in_english = _japanese_leaks(english, stored)
    in_japanese = _english_leaks(japanese, stored, words) + _english_leaks(first_ja, stored, words)
    assert not in_english + in_japanese, ("Japanese UI text in the English pages: " + _report(in_english)
                                          + "\n\nEnglish UI text in the Japanese pages: " + _report(in_japanese))


def test_timeline_direction_labels_follow_each_request(app, demo):
    """The bug as reported: 受信 / 送信済み / 社内メモ on an English page after a Japanese one."""
    from app.models import Message

    customer_id = db.session.scalar(select(Message.customer_id).where(Message.direction == "out").limit(1))
    ja = _render_all(demo, [f"/customers/{customer_id}"], "ja")
    en = _render_all(demo, [f"/customers/{customer_id}"], "en")
    ja_dirs = re.findall(r'<span class="direction">([^<]*)</span>', next(iter(ja.values())))
    en_dirs = re.findall(r'<span class="direction">([^<]*)</span>', next(iter(en.values())))
    assert ja_dirs and en_dirs and len(ja_dirs) == len(en_dirs)
    assert set(en_dirs) <= {"Received", "Sent", "Internal note"}, en_dirs
    assert not set(ja_dirs) & {"Received", "Sent", "Internal note"}, ja_dirs
