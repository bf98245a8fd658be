"""Load test on loopback: 50 agents with live Socket.IO connections browse, read and reply while
inbound messages arrive at a steady rate; HTTP and live-update latency, errors, CPU and memory.

    python bench/load_test.py                               # both setups, 180 s each, an agent's pace
    python bench/load_test.py --setup sqlite --duration 30 --agents 20 --rate 2

Setups: `sqlite` = one gunicorn web process (1 worker, --threads) + one `flask worker` on a SQLite
file; `postgres` = PostgreSQL + Redis (private throwaway servers from tests/servers), two gunicorn
web processes on two ports (agents and inbound POSTs alternate between them; every live event
crosses the Redis queue) + two `flask worker` processes. The database is seeded first with the
demo shop (`app.demo.seed`, through the real ingest path) plus the agents and an API token.

Each simulated agent logs in (CSRF token from /login, one User-Agent for HTTP and socket because
of strong session protection), holds a python-socketio websocket connection and loops: inbox
(GET /), think, a ticket page (GET /tickets/<id> of an email ticket; emits `ticket.join` like the
page's script), think, and with --reply-share probability a reply (POST /tickets/<id>/reply with
the page's CSRF token and seen_message_id; a 409 "someone replied since" is confirmed once, as an
agent would click "send anyway"). While on the inbox, each agent also does what the inbox
page's script does on `inbox.changed` (static/js/live.js: the row from the event, a rare
/?partial=1 refetch; --no-browser-refresh turns that off). Replies are only queued: no SMTP server is configured, so the
workers' delivery attempts fail temporarily and back off. An inbound thread POSTs
/api/v1/messages (channel email, Bearer token) at --rate per second. Live-update latency is the
time from the inbound POST's response (the message is stored) to each connected client's receipt
of `inbox.changed` carrying that message_id; the event can arrive before the response does
(emits happen right after commit), which counts as 0 ms; also reported: from the POST's start (an upper
bound) and the spread from the first to the last client. Per page, the app's own share comes
from each response's Server-Timing header (app/ops/logs.py): wall time inside Flask (waiting for
the GIL included) and the request thread's CPU time, so queueing in front of the app and
contention inside it can be told apart. Every message that any client missed
within 5 s counts as an error, as does every exception the web and worker processes log.

The web processes are `gunicorn -w 1 --threads 100 --keep-alive 10` on `app:create_app(...)` with
LOGIN_RATE_PER_IP lifted (all agents log in from 127.0.0.1); keep-alive outlasts the think time so
the client never reuses a connection the server is closing (requests does not retry that).

The run stops by itself after --duration seconds or --max-requests agent requests, whichever
comes first. CPU, RSS and PSS of every server process tree are read from /proc once a second. The load
generator shares the 2 cores with the servers; its own CPU is reported too.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import socketio as sio_client  # noqa: E402

from tests.servers import ensure_installed, free_port, spawn, stop_process, wait_for_port  # noqa: E402

PASSWORD = "load-test-password"
USER_AGENT = "tsunagu-load-test"
SECRET = "load-test-secret"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
FLAGGED_RE = re.compile(r'<section class="flagged".*?</section>', re.S)
FLAGGED_ID_RE = re.compile(r'<li data-ticket-id="(\d+)"')
SEEN_RE = re.compile(r'name="seen_message_id"[^>]*value="(\d*)"')
REPLY = "お問い合わせありがとうございます。内容を確認のうえ、本日中にあらためてご連絡いたします。"
TICK = os.sysconf("SC_CLK_TCK")


def pct(values, p):
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100 * len(s) + 0.5)) - 1))
    return s[k]


# ---------------------------------------------------------------- data ----
def prepare(url: str, instance: Path, customers: int, agents: int) -> dict:
    """Create the schema, seed the demo shop and the load agents; returns ids the agents need."""
    from sqlalchemy import select

    from app import create_app
    from app.auth.services import create_agent, create_token
    from app.demo import seed
    from app.extensions import db
    from app.models import Identity, Ticket
    from config import DevelopmentConfig

    app = create_app(DevelopmentConfig, SQLALCHEMY_DATABASE_URI=url, INSTANCE_DIR=str(instance))
    with app.app_context():
        db.create_all()
        t0 = time.monotonic()
        seed(customers=customers, seed=7)
        for i in range(agents):
            create_agent(f"load{i:02d}@bench.test", PASSWORD, name=f"負荷{i:02d}")
        token = create_token(create_agent("loadapi@bench.test", PASSWORD, name="API"), "load test")
        tickets = db.session.scalars(select(Ticket.id).where(Ticket.channel == "email")).all()
        emails = db.session.scalars(select(Identity.value).where(Identity.kind == "email")).all()
        n_tickets = db.session.query(Ticket).count()
        db.session.remove()
        db.engine.dispose()
    print(f"  seeded {n_tickets} tickets ({len(tickets)} email) and {len(emails)} email identities "
          f"in {time.monotonic() - t0:.0f} s", flush=True)
    return {"token": token, "tickets": tickets, "emails": emails}


# ------------------------------------------------------------ processes ----
def _tree(pid: int) -> list[int]:
    """pid and its descendants (gunicorn forks its worker; postgres its backends)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _cpu_mem(pids: list[int]) -> tuple[float, int, int]:
    """CPU seconds, RSS and PSS (bytes) summed over `pids`. PSS shares shared pages out between
    the processes mapping them, so it adds up (PostgreSQL's shared buffers are in every backend's
    RSS); for one process it is its RSS less its share of libraries."""
    cpu, rss, pss = 0.0, 0, 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            cpu += (int(fields[11]) + int(fields[12])) / TICK
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) * 1024
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    pss += int(line.split()[1]) * 1024
        except (OSError, IndexError, ValueError):
            continue
    return cpu, rss, pss


class Sampler(threading.Thread):
    """Once a second: CPU seconds and RSS of each named process tree, and the load average."""

    def __init__(self, procs: dict[str, int]):
        super().__init__(daemon=True)
        self.procs, self.stop = procs, threading.Event()
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}
        self.peak_rss: dict[str, int] = {}
        self.peak_pss: dict[str, int] = {}
        self.loads: list[float] = []
        self.t0 = self.t1 = time.monotonic()

    def sample(self):
        now = time.monotonic()
        for name, pid in self.procs.items():
            cpu, rss, pss = _cpu_mem(_tree(pid) if name != "load generator" else [pid])
            self.first.setdefault(name, cpu)
            self.last[name] = cpu
            self.peak_rss[name] = max(self.peak_rss.get(name, 0), rss)
            self.peak_pss[name] = max(self.peak_pss.get(name, 0), pss)
        self.loads.append(os.getloadavg()[0])
        self.t1 = now

    def run(self):
        self.t0 = time.monotonic()
        self.sample()
        while not self.stop.wait(1.0):
            self.sample()

    def report(self) -> dict:
        span = max(self.t1 - self.t0, 1e-9)
        return {name: {"cpu_pct": round(100 * (self.last[name] - self.first[name]) / span, 1),
                       "peak_rss_mb": round(self.peak_rss[name] / 2**20),
                       "peak_pss_mb": round(self.peak_pss[name] / 2**20)} for name in self.procs}


def start_setup(setup: str, tmp: Path, args) -> tuple[dict, list, dict, list]:
    """Start the database (and Redis), seed, start web processes and workers.
    Returns (data, web ports, {name: pid} to sample, [cleanup callables])."""
    cleanup, procs = [], {}
    env = {**os.environ, "SECRET_KEY": SECRET, "TSUNAGU_ENV": "development", "EMBEDDED_WORKER": "0",
           "INSTANCE_DIR": str(tmp / "instance")}
    if setup == "sqlite":
        url = f"sqlite:///{tmp / 'load.db'}"
        n_web = n_workers = 1
    else:
        from tests.servers.postgres import PostgresServer
        from tests.servers.redis import RedisServer

        base = Path(tempfile.mkdtemp(prefix="tsunagu-load-pg-"))  # initdb chowns it to postgres
        cleanup.append(lambda: shutil.rmtree(base, ignore_errors=True))
        pg = PostgresServer(Path(ensure_installed("/usr/lib/postgresql/*/bin/initdb")).parent, base)
        pg.initdb()
        pg.start()
        cleanup.append(pg.stop)
        redis = RedisServer(ensure_installed("/usr/bin/redis-server"), tmp)
        redis.start()
        cleanup.append(redis.stop)
        url = pg.create_database("tsunagu_load")
        env["REDIS_URL"] = redis.url
        procs.update({"postgres (all backends)": pg.proc.pid, "redis": redis.proc.pid})
        n_web = n_workers = 2
    env["DATABASE_URL"] = url
    data = prepare(url, tmp / "instance", args.customers, args.agents)
    bindir = Path(sys.executable).parent
    ports = []
    # 50 agents share 127.0.0.1: lift the per-IP login limit (10/min) for this run only.
    factory = "app:create_app(LOGIN_RATE_PER_IP='100000 per minute')"
    for i in range(n_web):
        port = free_port()
        log = tmp / f"web{i}.log"
        proc = spawn([str(bindir / "gunicorn"), "-w", "1", "--threads", str(args.threads),
                      "--keep-alive", str(args.keep_alive),
                      "-b", f"127.0.0.1:{port}", factory], log, env=env, cwd=ROOT)
        cleanup.append(lambda p=proc: stop_process(p))
        wait_for_port(port, proc, 60, log, f"gunicorn {i}")
        ports.append(port)
        procs[f"web {i + 1} (gunicorn :{port})"] = proc.pid
    for i in range(n_workers):
        log = tmp / f"worker{i}.log"
        proc = spawn([str(bindir / "flask"), "--app", "wsgi", "worker"], log, env=env, cwd=ROOT)
        cleanup.append(lambda p=proc: stop_process(p))
        procs[f"worker {i + 1}"] = proc.pid
    procs["load generator"] = os.getpid()
    return data, ports, procs, cleanup


# ------------------------------------------------------------ the load ----
def server_timing(response):
    """(app ms, cpu ms) from the response's Server-Timing header (app/ops/logs.py), or None."""
    if response is None:
        return None
    parts = dict(p.strip().split(";dur=") for p in response.headers.get("Server-Timing", "").split(",")
                 if ";dur=" in p)
    try:
        return float(parts["app"]), float(parts["cpu"])
    except (KeyError, ValueError):
        return None


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = {}
        self.server: dict[str, list[tuple[float, float]]] = {}  # Server-Timing: app wall, thread CPU
        self.errors: list[str] = []
        self.requests = 0
        self.collisions = 0

    def add(self, page: str, ms: float, response=None):
        timing = server_timing(response)
        with self.lock:
            self.times.setdefault(page, []).append(ms)
            if timing:
                self.server.setdefault(page, []).append(timing)

    def error(self, text: str):
        with self.lock:
            self.errors.append(text)


class Agent:
    def __init__(self, i: int, port: int, run: "Run"):
        self.i, self.base, self.run = i, f"http://127.0.0.1:{port}", run
        self.http = requests.Session()
        self.http.headers["User-Agent"] = USER_AGENT  # strong session protection binds to it
        self.sio = sio_client.Client(reconnection=False)
        self.received: dict[int, float] = {}  # message_id -> monotonic receipt
        self.sio.on("inbox.changed", self._changed)
        self.rnd = random.Random(i)
        self.viewing = None
        # The inbox page's script (static/js/live.js applyInboxChange): on `inbox.changed` it
        # updates the ticket's row in place from the event; counts catch up with one refetch of
        # /?partial=1 2 s after an event, then at most every 30 s ("reconcile"); a change to the
        # cancellation list refetches at once (300 ms, then at most every 3 s).
        self.on_inbox, self.flagged = False, set()
        self.timers = {"reconcile": [None, 0.0], "quick": [None, 0.0]}  # [pending timer, last run]
        self.browser = requests.Session()  # the page's fetch() runs beside the agent's navigation
        self.browser.headers["User-Agent"] = USER_AGENT

    def _changed(self, data):
        mid = data.get("message_id")
        if mid is not None and mid not in self.received:
            self.received[mid] = time.monotonic()
        if self.on_inbox and self.run.args.browser_refresh:
            row = data.get("row") or {}
            wants_flag = row.get("intent") == "cancellation" and row.get("status") in ("new", "open", "pending")
            flagged = data.get("ticket_id") in self.flagged
            if (not wants_flag) if flagged else (wants_flag and len(self.flagged) < 10):
                self._throttled("quick", 0.3, 3.0, 0.7)
            self._throttled("reconcile", 2.0, 30.0, 2.0)

    def _saw_inbox(self, response):
        """Remember the cancellation list the inbox shows (what applyInboxChange compares with)."""
        if response is not None:
            section = FLAGGED_RE.search(response.text)
            self.flagged = {int(i) for i in FLAGGED_ID_RE.findall(section.group(0))} if section else set()

    def _throttled(self, name, delay, gap, jitter):
        timer = self.timers[name]
        if timer[0] is None:
            wait = max(delay + self.rnd.uniform(0, jitter), timer[1] + gap - time.monotonic())
            timer[0] = threading.Timer(wait, self._refresh_inbox, (name,))
            timer[0].daemon = True
            timer[0].start()

    def _refresh_inbox(self, name):
        self.timers[name] = [None, time.monotonic()]
        if self.on_inbox and not self.run.stop.is_set():
            self._saw_inbox(self._timed("inbox refresh GET /?partial=1", "GET", "/?partial=1", {200},
                                        session=self.browser))

    def login(self):
        page = self.http.get(f"{self.base}/login", timeout=30)
        csrf = CSRF_RE.search(page.text).group(1)
        r = self.http.post(f"{self.base}/login", allow_redirects=False, timeout=30,
                           data={"email": f"load{self.i:02d}@bench.test", "password": PASSWORD, "csrf_token": csrf})
        if r.status_code != 302:
            raise RuntimeError(f"login of agent {self.i} failed: {r.status_code} {r.text[:200]}")
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)
        self.http.get(f"{self.base}/", timeout=30)  # lands on the inbox, as a browser does (not timed)
        self.browser.cookies.update(self.http.cookies)
        self.sio.connect(self.base, headers={"Cookie": cookie, "User-Agent": USER_AGENT},
                         transports=["websocket"], wait_timeout=30)

    def _timed(self, page, method, path, expect, session=None, **kw):
        run = self.run
        with run.stats.lock:
            if run.stats.requests >= run.args.max_requests:
                run.stop.set()
                return None
            run.stats.requests += 1
        t = time.perf_counter()
        try:
            r = (session or self.http).request(method, self.base + path, timeout=30, allow_redirects=False, **kw)
            r.content
        except requests.RequestException as exc:
            run.stats.error(f"{page}: {exc}")
            return None
        ms = (time.perf_counter() - t) * 1000
        run.stats.add(page, ms, r)
        if r.status_code not in expect:
            run.stats.error(f"{page} {path}: HTTP {r.status_code}")
            return None
        return r

    def think(self):
        self.run.stop.wait(self.rnd.uniform(self.run.args.think_min, self.run.args.think_max))

    def loop(self):
        stop = self.run.stop
        self.think()
        while not stop.is_set():
            self._saw_inbox(self._timed("inbox GET /", "GET", "/", {200}))
            self.on_inbox = True
            self.think()
            self.on_inbox = False
            if stop.is_set():
                break
            ticket_id = self.rnd.choice(self.run.data["tickets"])
            page = self._timed("ticket GET /tickets/<id>", "GET", f"/tickets/{ticket_id}", {200})
            if page is None:
                continue
            if self.viewing:
                self.sio.emit("ticket.leave", {"ticket_id": self.viewing})
            self.sio.emit("ticket.join", {"ticket_id": ticket_id})
            self.viewing = ticket_id
            self.think()
            if stop.is_set() or self.rnd.random() >= self.run.args.reply_share:
                continue
            csrf, seen = CSRF_RE.search(page.text), SEEN_RE.search(page.text)
            if not csrf:
                self.run.stats.error(f"ticket {ticket_id}: no reply form")
                continue
            form = {"csrf_token": csrf.group(1), "body": REPLY, "status_after": "pending",
                    "seen_message_id": seen.group(1) if seen else "", "submit": "1"}
            r = self._timed("reply POST /tickets/<id>/reply", "POST", f"/tickets/{ticket_id}/reply", {302, 409},
                            data=form)
            if r is not None and r.status_code == 409:  # a colleague replied meanwhile: send anyway
                with self.run.stats.lock:
                    self.run.stats.collisions += 1
                self._timed("reply POST /tickets/<id>/reply", "POST", f"/tickets/{ticket_id}/reply", {302},
                            data={**form, "confirm": "1"})


class Run:
    def __init__(self, args, data, ports):
        self.args, self.data, self.ports = args, data, ports
        self.stats = Stats()
        self.stop = threading.Event()
        self.inbound: list[dict] = []

    def post_inbound(self, n: int, tag: str):
        port = self.ports[n % len(self.ports)]
        rnd = random.Random(n)
        sender = rnd.choice(self.data["emails"]) if rnd.random() < 0.7 else f"new-{tag}-{n}@example.jp"
        body = {"channel": "email", "external_id": f"<load-{tag}-{n}@bench.test>", "from": sender,
                "subject": f"お届け日の変更について {n}", "text": "次回のお届けを一週間後にしていただけますか。"}
        t = time.perf_counter()
        sent = time.monotonic()
        try:
            r = requests.post(f"http://127.0.0.1:{port}/api/v1/messages", json=body, timeout=30,
                              headers={"Authorization": f"Bearer {self.data['token']}"})
        except requests.RequestException as exc:
            self.stats.error(f"API POST: {exc}")
            return
        returned = time.monotonic()
        self.stats.add("API POST /api/v1/messages", (time.perf_counter() - t) * 1000, r)
        if r.status_code != 201:
            self.stats.error(f"API POST: HTTP {r.status_code} {r.text[:200]}")
            return
        with self.stats.lock:
            self.inbound.append({"message_id": r.json()["message_id"], "sent": sent, "returned": returned})

    def inbound_loop(self, tag: str):
        with ThreadPoolExecutor(4) as pool:
            start, n = time.monotonic(), 0
            while not self.stop.is_set():
                due = start + n / self.args.rate
                if self.stop.wait(max(0.0, due - time.monotonic())):
                    break
                pool.submit(self.post_inbound, n, tag)
                n += 1


def run_setup(setup: str, args) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix=f"tsunagu-load-{setup}-"))
    cleanup = []
    try:
        print(f"\n== {setup}: starting servers and seeding ({tmp})", flush=True)
        data, ports, procs, cleanup = start_setup(setup, tmp, args)
        run = Run(args, data, ports)
        agents = [Agent(i, ports[i % len(ports)], run) for i in range(args.agents)]
        t = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(Agent.login, agents))
        print(f"  {len(agents)} agents logged in and connected over websocket in {time.monotonic() - t:.0f} s",
              flush=True)
        sampler = Sampler(procs)
        load_before = os.getloadavg()
        sampler.start()
        threads = [threading.Thread(target=a.loop, daemon=True) for a in agents]
        threads.append(threading.Thread(target=run.inbound_loop, args=(setup,), daemon=True))
        started = time.monotonic()
        for th in threads:
            th.start()
        run.stop.wait(args.duration)
        run.stop.set()
        for th in threads:
            th.join(60)
        elapsed = time.monotonic() - started
        time.sleep(5)  # events still in flight
        sampler.stop.set()
        sampler.join()
        result = summarise(setup, run, agents, sampler, elapsed, load_before)
        for a in agents:
            a.sio.disconnect()
        for log in sorted(tmp.glob("web*.log")) + sorted(tmp.glob("worker*.log")):
            text = log.read_text(errors="replace")
            # One logged exception, chained ("direct cause", "during handling"), prints several.
            tracebacks = text.count("Traceback (most recent call last)") - text.count(
                "The above exception was the direct cause") - text.count("During handling of the above exception")
            if tracebacks:
                last = text.rsplit("Traceback", 1)[1].strip().splitlines()
                result["errors"].append(f"{log.name} has {tracebacks} logged exceptions, the last: "
                                        + next((l for l in reversed(last) if "Error" in l), last[-1])[:400])
                result["error_count"] += tracebacks
        return result
    finally:
        for fn in reversed(cleanup):
            try:
                fn()
            except Exception as exc:  # keep cleaning up
                print(f"  cleanup: {exc}")
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


def summarise(setup, run, agents, sampler, elapsed, load_before) -> dict:
    stats = run.stats
    pages = {page: {"n": len(v), "p50": round(pct(v, 50), 1), "p95": round(pct(v, 95), 1),
                    "p99": round(pct(v, 99), 1)} for page, v in sorted(stats.times.items())}
    for page, timings in stats.server.items():  # inside the app: wall (incl. waiting for the GIL), CPU
        wall, cpu = [t[0] for t in timings], [t[1] for t in timings]
        pages[page].update(app_p50=_r(pct(wall, 50)), app_p95=_r(pct(wall, 95)),
                           cpu_p50=_r(pct(cpu, 50)), cpu_p95=_r(pct(cpu, 95)))
    from_return, from_sent, spread, missing = [], [], [], 0
    for msg in run.inbound:
        got_all = [a.received[msg["message_id"]] for a in agents if msg["message_id"] in a.received]
        if got_all:  # first to last client: the fan-out itself, independent of the request
            spread.append((max(got_all) - min(got_all)) * 1000)
        for a in agents:
            got = a.received.get(msg["message_id"])
            if got is None or got - msg["sent"] > 5:
                missing += 1
                continue
            from_return.append(max(0.0, got - msg["returned"]) * 1000)
            from_sent.append((got - msg["sent"]) * 1000)
    errors = list(stats.errors)
    if missing:
        errors.append(f"{missing} live updates not received within 5 s "
                      f"(of {len(run.inbound) * len(agents)})")
    return {
        "setup": setup, "seconds": round(elapsed, 1), "agents": len(agents), "requests": stats.requests,
        "inbound_stored": len(run.inbound), "inbound_rate": round(len(run.inbound) / elapsed, 2),
        "reply_collisions_confirmed": stats.collisions, "pages": pages,
        "live_update_ms": {"deliveries": len(from_return),
                           "from_response_p50": _r(pct(from_return, 50)),
                           "from_response_p99": _r(pct(from_return, 99)),
                           "from_request_p50": _r(pct(from_sent, 50)), "from_request_p99": _r(pct(from_sent, 99)),
                           "arrived_before_response": sum(1 for v in from_return if v == 0),
                           "fanout_spread_p50": _r(pct(spread, 50)), "fanout_spread_p99": _r(pct(spread, 99))},
        "processes": sampler.report(),
        "load_average": {"before": round(load_before[0], 2), "max_1min": round(max(sampler.loads), 2),
                         "mean_1min": round(statistics.mean(sampler.loads), 2)},
        "errors": errors[:20], "error_count": len(errors),
    }


def _r(v):
    return None if v is None else round(v, 1)


def print_result(r: dict) -> None:
    print(f"\n== {r['setup']}: {r['agents']} agents, {r['seconds']} s, {r['requests']} agent requests, "
          f"{r['inbound_stored']} inbound stored ({r['inbound_rate']}/s), "
          f"load average {r['load_average']['before']} before, mean {r['load_average']['mean_1min']}, "
          f"max {r['load_average']['max_1min']}")
    print(f"  {'page':34} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}   in the app: wall p50/p95, CPU p50/p95")
    for page, v in r["pages"].items():
        inside = (f"   {v['app_p50']} / {v['app_p95']}, {v['cpu_p50']} / {v['cpu_p95']}" if "app_p50" in v else "")
        print(f"  {page:34} {v['n']:>6} {v['p50']:>8} {v['p95']:>8} {v['p99']:>8}{inside}")
    lu = r["live_update_ms"]
    print(f"  live update (inbox.changed), {lu['deliveries']} deliveries: from the POST's response "
          f"p50 {lu['from_response_p50']} ms, p99 {lu['from_response_p99']} ms "
          f"({lu['arrived_before_response']} arrived before the response); from the POST's start "
          f"p50 {lu['from_request_p50']} ms, p99 {lu['from_request_p99']} ms; first to last client "
          f"p50 {lu['fanout_spread_p50']} ms, p99 {lu['fanout_spread_p99']} ms")
    for name, v in r["processes"].items():
        print(f"  {name:34} CPU {v['cpu_pct']:>6}%  peak RSS {v['peak_rss_mb']:>5} MB  PSS {v['peak_pss_mb']:>5} MB")
    print(f"  errors: {r['error_count']}; 409 collisions confirmed: {r['reply_collisions_confirmed']}")
    for e in r["errors"]:
        print(f"    {e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setup", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--duration", type=float, default=180, help="seconds of load per setup")
    parser.add_argument("--max-requests", type=int, default=20_000, help="agent requests per setup at most")
    parser.add_argument("--agents", type=int, default=50)
    parser.add_argument("--rate", type=float, default=5, help="inbound messages per second")
    parser.add_argument("--customers", type=int, default=2000, help="demo shop size to seed")
    # An agent's pace: a page every ~10 s (the figures in bench/README.md); 1 and 5 triple it.
    parser.add_argument("--think-min", type=float, default=5.0, help="seconds an agent reads before the next click, at least")
    parser.add_argument("--think-max", type=float, default=15.0, help="... and at most")
    parser.add_argument("--reply-share", type=float, default=0.3, help="share of ticket views that reply")
    parser.add_argument("--no-browser-refresh", dest="browser_refresh", action="store_false",
                        help="do not simulate the inbox page's throttled refetch on inbox.changed")
    parser.add_argument("--threads", type=int, default=100, help="gunicorn threads per web process")
    parser.add_argument("--keep-alive", type=int, default=10,
                        help="gunicorn keep-alive seconds: longer than the agents' think time (see bench/README.md)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, database)")
    args = parser.parse_args()
    results = []
    for setup in (["sqlite", "postgres"] if args.setup == "both" else [args.setup]):
        results.append(run_setup(setup, args))
        print_result(results[-1])
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
