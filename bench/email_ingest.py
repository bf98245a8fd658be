"""Benchmark: N mixed Japanese/English emails from a real Dovecot, ingested end to end on SQLite.

    .venv/bin/python -m bench.email_ingest [--n 5000] [--batch 100] [--database-url URL]

It starts a private Dovecot (tests/servers/dovecot.py), writes N messages into its Maildir
(ISO-2022-JP with CP50220 characters, Shift_JIS, EUC-JP, UTF-8 plain and HTML, English, replies,
small attachments), lets Dovecot index them, then measures in separate processes (so each peak
RSS is its own):
1. raw: imapclient fetching every message with BODY.PEEK[] in batches, parsed by `email`
   (policy.default: subject, sender, get_body().get_content(), attachments' get_content());
2. end to end: `poll_mailbox` (raw stored first, Japanese-safe parse, sanitising, ingest_batch
   with the cursor, every message.ingested subscriber) into a fresh SQLite file; the intent model
   is trained before the clock starts, as INTENT_WARMUP does at worker start.
It prints messages/s, end-to-end as a share of raw (target >= 40%), peak RSS (target < 300 MB)
and the median/p95 per-batch latency, then a JSON line with the same figures.

`--history` measures a shop's first day instead: the N messages are dated over the years before
a cutoff (Date header and INTERNALDATE alike, as imapsync keeps them) and end to end is the
history import (`history_before` on the mailbox: closed tickets, only "message.imported"
published); it checks that every message was stored once, every ticket is closed and that no
SLA clock, outbox row or retention case was made.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from email.message import EmailMessage
from email.utils import format_datetime
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FAMILY = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "髙橋", "﨑山"]
GIVEN = ["花子", "太郎", "美咲", "翔", "陽菜", "蓮", "結衣", "大輝", "さくら", "健"]
SUBJECTS = ["定期便の配送日を変更したい", "解約について", "商品が届きません", "お支払い方法の変更",
            "①番の商品について", "㈱つなぐ商店 御中", "返品の手続き", "ポイントの有効期限", "領収書の発行"]
LINES = ["いつもお世話になっております。", "次回のお届けを一回お休みしたいです。", "商品の箱が潰れていました。",
         "ﾊﾝｶｸｶﾀｶﾅで失礼します。", "①の件、②の件についてご確認ください。", "髙橋と申します。",
         "よろしくお願いいたします。", "住所が変わりましたので変更をお願いします。"]
ENGLISH = ["Hello, I would like to pause my subscription.", "My order has not arrived yet.",
           "Could you send me an invoice?", "Thanks for your help!"]


def _jis(text: str) -> bytes:
    from app.channels.email.jis import encode_jis

    return encode_jis(text) or text.encode("iso2022_jp", "replace")


def _raw_message(i: int, rng: random.Random, sent: list[str], when: datetime | None = None,
                 threads: dict[str, tuple[str, str]] | None = None) -> bytes:
    """One message (dated `when`, default a few days ago); the mix roughly follows a Japanese
    shop's inbox. With `threads` (message id -> sender, subject; the history run), a reply answers
    one of the last 50 messages as its sender, and half the carrier-mail replies lack In-Reply-To
    (threaded by subject), as a real mailbox's conversations do."""
    sender = f"c{rng.randrange(1500)}@{rng.choice(['docomo.ne.jp', 'ezweb.ne.jp', 'gmail.com', 'example.jp'])}"
    name = rng.choice(FAMILY) + " " + rng.choice(GIVEN)
    subject = rng.choice(SUBJECTS)
    pool = sent[-50:] if threads is not None else sent
    reply_to = rng.choice(pool) if pool and rng.random() < 0.25 else None
    if threads is not None and reply_to:
        sender, subject = threads[reply_to]
    topic = subject
    if reply_to:
        subject = rng.choice(["Re: ", "RE: ", "返信: "]) + subject
    lines = [rng.choice(LINES) for _ in range(rng.randint(3, 12))]
    date = format_datetime(when or datetime.now(timezone(timedelta(hours=9))) - timedelta(minutes=5000 - i))
    message_id = f"<bench{i}.{rng.randrange(10**9)}@{sender.split('@')[1]}>"
    head = [f"Message-ID: {message_id}", f"Date: {date}", "To: support@tsunagu.test", "MIME-Version: 1.0"]
    if threads is not None:
        threads[message_id] = (sender, topic)
        if reply_to and sender.endswith(("docomo.ne.jp", "ezweb.ne.jp")) and rng.random() < 0.5:
            reply_to = None  # carrier mail: "Re:" and no In-Reply-To
    if reply_to:
        head.append(f"In-Reply-To: {reply_to}")
    sent.append(message_id)
    kind = rng.random()
    if kind < 0.35:  # ISO-2022-JP (iPhone, Outlook): CP50220 characters included
        import base64

        word = lambda t: f"=?ISO-2022-JP?B?{base64.b64encode(_jis(t)).decode()}?="  # noqa: E731
        body = _jis("\r\n".join(lines) + "\r\n")
        head += [f"From: {word(name)} <{sender}>", f"Subject: {word(subject)}",
                 "Content-Type: text/plain; charset=ISO-2022-JP", "Content-Transfer-Encoding: 7bit"]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body
    if kind < 0.50:  # Shift_JIS, 8-bit
        head += [f"From: {sender}", "Subject: =?Shift_JIS?B?" +
                 __import__("base64").b64encode(subject.encode("cp932")).decode() + "?=",
                 "Content-Type: text/plain; charset=Shift_JIS", "Content-Transfer-Encoding: 8bit"]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + ("\r\n".join(lines) + "\r\n").encode("cp932")
    if kind < 0.55:  # EUC-JP
        text = "\r\n".join(line for line in lines if "①" not in line and "ﾊ" not in line and "髙" not in line)
        head += [f"From: {sender}", "Subject: euc-jp", "Content-Type: text/plain; charset=EUC-JP",
                 "Content-Transfer-Encoding: 8bit"]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + (text + "\r\n").encode("euc_jp")
    msg = EmailMessage()
    english = kind > 0.85
    msg["From"] = f"{'Customer' if english else name} <{sender}>"
    msg["Subject"] = rng.choice(ENGLISH)[:30] if english else subject
    for line in head:
        key, value = line.split(": ", 1)
        msg[key] = value
    text = "\n".join(rng.choice(ENGLISH) for _ in range(5)) if english else "\n".join(lines)
    msg.set_content(text)
    if rng.random() < 0.4:
        msg.add_alternative("<html><body>" + "".join(f"<p>{t}</p>" for t in text.split("\n"))
                            + '<img src="https://tracker.example/o.gif"></body></html>', subtype="html")
    if rng.random() < 0.1:
        msg.add_attachment(os.urandom(20_000), maintype="application", subtype="pdf", filename="注文書.pdf")
    return msg.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else 0.0


def phase_raw(host: str, port: int, user: str, password: str, batch: int) -> dict:
    """imapclient + email (policy.default) alone over the same messages."""
    from email import message_from_bytes, policy

    from imapclient import IMAPClient

    started, cpu = time.perf_counter(), time.process_time()
    client = IMAPClient(host, port, ssl=False, timeout=60)
    client.login(user, password)
    client.select_folder("INBOX", readonly=True)
    uids = sorted(client.search(["ALL"]))
    latencies, count = [], 0
    for start in range(0, len(uids), batch):
        t0 = time.perf_counter()
        fetched = client.fetch(uids[start:start + batch], ["BODY.PEEK[]", "INTERNALDATE"])
        for data in fetched.values():
            msg = message_from_bytes(data[b"BODY[]"], policy=policy.default)
            _ = str(msg["subject"]), str(msg["from"]), msg["message-id"], msg["date"]
            body = msg.get_body(("plain", "html"))
            _ = body.get_content() if body is not None else ""
            for part in msg.iter_attachments():
                _ = part.get_content()
            count += 1
        latencies.append(time.perf_counter() - t0)
    client.logout()
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"messages": count, "seconds": elapsed, "rate": count / elapsed, "peak_rss_mb": _peak_rss_mb(),
            "cpu_seconds": cpu, "cpu_rate": count / cpu,
            "batch_p50": statistics.median(latencies), "batch_p95": _pct(latencies, 0.95)}


def _time_subscribers(bus, topics: tuple[str, ...]) -> dict:
    """Wrap every handler of `topics` to add up its own wall and CPU time (time spent in handlers
    it triggers, e.g. ticket.updated published by the retention subscriber, is counted there)."""
    totals: dict[str, list[float]] = {}
    stack: list[list[float]] = []

    def wrap(topic: str, fn):
        name = f"{topic} -> {fn.__module__}.{fn.__name__}"
        totals.setdefault(name, [0.0, 0.0, 0])

        @functools.wraps(fn)  # bus.subscribed() still recognises the handler
        def timed(*args, **kwargs):
            frame = [time.perf_counter(), time.process_time(), 0.0, 0.0]  # start, start, children
            stack.append(frame)
            try:
                return fn(*args, **kwargs)
            finally:
                stack.pop()
                wall, cpu = time.perf_counter() - frame[0], time.process_time() - frame[1]
                entry = totals[name]
                entry[0] += wall - frame[2]
                entry[1] += cpu - frame[3]
                entry[2] += 1
                if stack:
                    stack[-1][2] += wall
                    stack[-1][3] += cpu

        return timed

    for topic in topics:
        wrapped = {fn: wrap(topic, fn) for fn in bus._handlers.get(topic, [])}
        bus._handlers[topic] = [wrapped[fn] for fn in bus._handlers.get(topic, [])]
        bus._batch_handlers[topic] = [(wrap(topic, fn), wrapped.get(single, single))
                                      for fn, single in bus._batch_handlers.get(topic, [])]
    return totals


def phase_e2e(host: str, port: int, user: str, password: str, batch: int, database_url: str, workdir: str,
              subscribers: bool = True, profile: str | None = None, time_subscribers: bool = False,
              history_before: str | None = None) -> dict:
    """poll_mailbox into a fresh database: the whole ingest path (optionally without the other
    features' message.ingested subscribers, to tell their cost from the channel's; with
    `history_before`, the history import, checked for closed tickets and nothing live)."""
    import logging

    from app import bus, create_app
    from app.channels.email.imap import mailboxes
    from app.channels.email.poller import poll_mailbox
    from app.extensions import db
    from app.models import Message, OutboxItem, RetentionCase, SearchQueueItem, Ticket, TicketSLA
    from config import TestingConfig

    logging.disable(logging.WARNING)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, INSTANCE_DIR=f"{workdir}/instance",
                     SEARCH_INDEX_DIR=f"{workdir}/search-index", EMAIL_BATCH_SIZE=batch,
                     EMAIL_AUTO_ACK=bool(history_before),  # the history run checks none is queued
                     EMAIL_MAILBOXES=json.dumps([{"host": host, "port": port, "user": user,
                                                  "password": password, "ssl": False, "timeout": 60,
                                                  "history_before": history_before or ""}]))
    if not subscribers:
        for handler in list(bus._handlers.get("message.ingested", [])):
            bus.unsubscribe("message.ingested", handler)
    timings = _time_subscribers(bus, ("message.ingested", "ticket.updated")) if time_subscribers else None
    with app.app_context():
        db.create_all()
        [box] = mailboxes(app.config)
        if subscribers and not history_before:  # as INTENT_WARMUP does at worker start (not timed)
            from app.retention.intent_model import shipped_model

            shipped_model()
        profiler = None
        if profile:  # --profile FILE: cProfile of the measured poll only (pstats format)
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        started, cpu = time.perf_counter(), time.process_time()
        result = poll_mailbox(box)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(profile)
        stored = db.session.query(Message).count()
        checks = {}
        if history_before:
            query = db.session.query
            checks = {"history": result.history, "tickets": query(Ticket).count(),
                      "tickets_not_closed": query(Ticket).filter(Ticket.status != "closed").count(),
                      "sla_rows": query(TicketSLA).count(), "outbox_rows": query(OutboxItem).count(),
                      "retention_cases": query(RetentionCase).count(),
                      "search_queued": query(SearchQueueItem).count()}
    if result.error:
        raise SystemExit(f"end-to-end poll failed: {result.error}")
    return {"messages": result.fetched, "created": result.created, "stored": stored, "seconds": elapsed,
            "cpu_seconds": cpu, "cpu_rate": result.fetched / cpu,
            "rate": result.fetched / elapsed, "peak_rss_mb": _peak_rss_mb(), "unreadable": result.unreadable,
            "ingest_seconds": result.ingest_seconds,
            "channel_rate": result.fetched / max(elapsed - result.ingest_seconds, 1e-9),
            "batch_p50": statistics.median(result.batch_seconds), "batch_p95": _pct(result.batch_seconds, 0.95),
            **checks,
            **({"subscribers": {name: {"wall": w, "cpu": c, "calls": n} for name, (w, c, n) in timings.items()}}
               if timings is not None else {})}


#: The history run's mail spans three years before the cutoff (the shop's first day).
HISTORY_CUTOFF = datetime(2026, 4, 1, tzinfo=timezone(timedelta(hours=9)))
HISTORY_START = HISTORY_CUTOFF - timedelta(days=3 * 365)


def _report_history(args: argparse.Namespace, raw: dict, e2e: dict, url: str) -> None:
    backend = "SQLite" if url.startswith("sqlite") else url.split(":")[0]
    print(f"raw, the warm-up run (imapclient + email, policy.default; Dovecot indexing the Maildir meanwhile): "
          f"{raw['rate']:.0f} msg/s, {raw['cpu_rate']:.0f} msg per CPU-s")
    print(f"history import ({backend}, batch {args.batch}): {e2e['rate']:.0f} msg/s wall, "
          f"{e2e['cpu_rate']:.0f} msg per CPU-s ({e2e['seconds']:.1f}s wall, {e2e['cpu_seconds']:.1f}s CPU); "
          f"batch p50 {e2e['batch_p50'] * 1000:.0f} ms p95 {e2e['batch_p95'] * 1000:.0f} ms; "
          f"peak RSS {e2e['peak_rss_mb']:.0f} MB")
    print(f"  stored {e2e['stored']} of {args.n} ({e2e['history']} as history, {e2e['unreadable']} unreadable) in "
          f"{e2e['tickets']} tickets, {e2e['tickets_not_closed']} not closed; SLA rows {e2e['sla_rows']}, "
          f"outbox rows {e2e['outbox_rows']}, retention cases {e2e['retention_cases']}; "
          f"{e2e['search_queued']} items queued for the search index")
    print(json.dumps({"n": args.n, "batch": args.batch, "history": True, "raw": raw, "e2e": e2e}))
    if e2e["stored"] != args.n or e2e["history"] != args.n or e2e["tickets_not_closed"] or \
            e2e["sla_rows"] or e2e["outbox_rows"] or e2e["retention_cases"]:
        raise SystemExit("the history import did not store everything closed and silent")


def _run_phase(name: str, args: argparse.Namespace, server, extra: list[str]) -> dict:
    argv = [sys.executable, "-m", "bench.email_ingest", "--phase", name, "--port", str(server.port),
            "--batch", str(args.batch), *extra]
    out = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"phase {name} failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--phase", choices=["raw", "e2e"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", help=argparse.SUPPRESS)
    parser.add_argument("--no-subscribers", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile (pstats) of the end-to-end poll to FILE")
    parser.add_argument("--time-subscribers", action="store_true",
                        help="report each message.ingested / ticket.updated handler's own wall and CPU time")
    parser.add_argument("--skip-bare", action="store_true",
                        help="skip the run with message.ingested subscribers detached")
    parser.add_argument("--history", action="store_true",
                        help="measure the history import: N messages dated over three years before a cutoff")
    parser.add_argument("--history-before", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    from tests.servers.dovecot import PASSWORD, USER

    if args.phase == "raw":
        print(json.dumps(phase_raw("127.0.0.1", args.port, USER, PASSWORD, args.batch)))
        return
    if args.phase == "e2e":
        print(json.dumps(phase_e2e("127.0.0.1", args.port, USER, PASSWORD, args.batch, args.database_url,
                                   args.workdir, subscribers=not args.no_subscribers, profile=args.profile,
                                   time_subscribers=args.time_subscribers,
                                   history_before=args.history_before)))
        return

    from tests.servers.dovecot import start_server

    server = start_server()
    workdir = tempfile.mkdtemp(prefix="tsunagu-bench-")
    try:
        rng, sent, size = random.Random(args.seed), [], 0
        threads: dict[str, tuple[str, str]] | None = {} if args.history else None
        t0 = time.perf_counter()
        for i in range(args.n):
            when = HISTORY_START + (HISTORY_CUTOFF - HISTORY_START) * i / args.n if args.history else None
            raw = _raw_message(i, rng, sent, when, threads)
            size += len(raw)
            name = server.deliver(raw)
            if when is not None:  # INTERNALDATE = the Maildir file's mtime: arrived a minute after
                arrived = (when + timedelta(minutes=1)).timestamp()
                os.utime(server.maildir / "new" / name, (arrived, arrived))
        print(f"generated {args.n} messages ({size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f}s")
        t0 = time.perf_counter()
        warm = _run_phase("raw", args, server, [])  # warm-up: Dovecot indexes the Maildir, page cache fills
        print(f"warm-up (Dovecot indexing + one full fetch) {time.perf_counter() - t0:.1f}s")
        # The history run is long already: its raw figure is the warm-up's (Dovecot indexing included).
        raw = warm if args.history else _run_phase("raw", args, server, [])
        url = args.database_url or f"sqlite:///{workdir}/bench.db"
        if args.history:
            e2e = _run_phase("e2e", args, server, ["--database-url", url, "--workdir", workdir,
                                                   "--history-before", HISTORY_CUTOFF.isoformat()])
            return _report_history(args, raw, e2e, url)
        e2e = _run_phase("e2e", args, server, ["--database-url", url, "--workdir", workdir,
                                               *(["--profile", os.path.abspath(args.profile)] if args.profile else []),
                                               *(["--time-subscribers"] if args.time_subscribers else [])])
        bare = None
        if not args.database_url and not args.skip_bare:  # a second, fresh SQLite file: channel + ingest() alone
            bare = _run_phase("e2e", args, server, ["--database-url", f"sqlite:///{workdir}/bare.db",
                                                    "--workdir", workdir, "--no-subscribers"])
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)

    share = e2e["rate"] / raw["rate"]
    cpu_share = e2e["cpu_rate"] / raw["cpu_rate"]
    print(f"raw (imapclient + email, policy.default): {raw['rate']:7.0f} msg/s  {raw['seconds']:6.1f}s  "
          f"peak RSS {raw['peak_rss_mb']:5.0f} MB  batch p50 {raw['batch_p50'] * 1000:.0f} ms "
          f"p95 {raw['batch_p95'] * 1000:.0f} ms")
    print(f"end to end ({'SQLite' if url.startswith('sqlite') else url.split(':')[0]}):"
          f"{'':15}{e2e['rate']:7.0f} msg/s  {e2e['seconds']:6.1f}s  peak RSS {e2e['peak_rss_mb']:5.0f} MB  "
          f"batch p50 {e2e['batch_p50'] * 1000:.0f} ms p95 {e2e['batch_p95'] * 1000:.0f} ms")
    if bare:
        print(f"  same, message.ingested subscribers detached:{'':3}{bare['rate']:7.0f} msg/s  "
              f"{bare['seconds']:6.1f}s  peak RSS {bare['peak_rss_mb']:5.0f} MB  batch p50 "
              f"{bare['batch_p50'] * 1000:.0f} ms p95 {bare['batch_p95'] * 1000:.0f} ms "
              f"({bare['rate'] / raw['rate']:.0%} of raw)")
    print(f"  of the end-to-end time, ingest_batch() (ingest + subscribers) took {e2e['ingest_seconds']:.1f}s; "
          f"the channel's own work (fetch, raw store, parse, dedupe) runs at {e2e['channel_rate']:.0f} msg/s "
          f"({e2e['channel_rate'] / raw['rate']:.0%} of raw)")
    print(f"CPU time (less sensitive to a loaded machine): raw {raw['cpu_seconds']:.1f}s = {raw['cpu_rate']:.0f} "
          f"msg per CPU-s; end to end {e2e['cpu_seconds']:.1f}s = {e2e['cpu_rate']:.0f} msg per CPU-s "
          f"({cpu_share:.0%} of raw)" + (f"; detached {bare['cpu_seconds']:.1f}s = {bare['cpu_rate']:.0f} msg "
                                          f"per CPU-s ({bare['cpu_rate'] / raw['cpu_rate']:.0%})" if bare else ""))
    for name, t in sorted(e2e.get("subscribers", {}).items(), key=lambda item: -item[1]["wall"]):
        print(f"  subscriber {name}: {t['calls']} calls, own wall {t['wall']:.2f}s "
              f"({t['wall'] / e2e['messages'] * 1000:.2f} ms/message), own CPU {t['cpu']:.2f}s "
              f"({t['cpu'] / e2e['messages'] * 1000:.2f} ms/message)")
    print(f"end to end = {share:.0%} of raw (target >= 40%); stored {e2e['stored']} of {args.n}, "
          f"{e2e['unreadable']} unreadable; peak RSS target < 300 MB: "
          f"{'OK' if e2e['peak_rss_mb'] < 300 else 'OVER'}")
    print(json.dumps({"n": args.n, "batch": args.batch, "raw": raw, "e2e": e2e, "share": share, "cpu_share": cpu_share,
                      "e2e_without_subscribers": bare}))
    if e2e["stored"] != args.n:
        raise SystemExit("not every message was stored")


if __name__ == "__main__":
    main()
