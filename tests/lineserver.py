"""A local LINE Messaging API server on loopback, speaking the wire format line-bot-sdk talks to.

A real HTTP server (werkzeug, in a thread), serving both the API host and the data-API host:

- POST /v2/bot/message/reply            replyToken (issued by `event()`, one minute, single use)
- POST /v2/bot/message/push             `to`, messages; X-Line-Retry-Key (UUID): a key already
                                        accepted answers 409 with x-line-accepted-request-id
- GET  /v2/bot/profile/:userId          displayName, pictureUrl (404 for strangers)
- GET  /picture/:userId                 the profile picture (a PNG), as LINE's CDN serves it
- messages: text, and image messages whose URLs must be https (LINE refuses others)
- GET  /v2/bot/message/:id/content      the bytes of an image / file the user "sent"
- GET  /v2/bot/message/quota            {"type": "limited", "value": N}
- GET  /v2/bot/message/quota/consumption {"totalUsage": pushes so far + `used_before`}

Every request needs the test access token (401 otherwise) and is logged with its headers.
`script()` queues faults: any status for a method + path, `timeout` (the answer comes after the
client gave up) and `after_accept` (the server delivers, then the answer is lost or an error).
Webhook deliveries are built by `event()` / `delivery()` and signed by `sign()` like LINE does.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Optional

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

ACCESS_TOKEN = "test-line-access-token"
SECRET = "test-line-channel-secret"
BOT_USER_ID = "U" + "b0" * 16


@dataclass
class Fault:
    method: str
    path: str  #: regex matched against the path
    status: int = 500
    times: int = 1
    #: Answer only after this many seconds (longer than the client's timeout: a read timeout).
    delay: float = 0.0
    #: Do the work first (deliver the message), then answer with the fault (a lost answer).
    after_accept: bool = False


@dataclass
class Logged:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int = 0


@dataclass
class Delivered:
    mode: str  #: reply | push
    to: str
    texts: list[str]
    retry_key: Optional[str] = None
    #: (originalContentUrl, previewImageUrl) of the image messages, in order.
    images: list[tuple[str, str]] = field(default_factory=list)


class _Quiet(WSGIRequestHandler):
    def log(self, *args: Any) -> None:
        pass


def sign(body: bytes, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def png(color: tuple[int, int, int] = (6, 199, 85), size: tuple[int, int] = (48, 48)) -> bytes:
    """A small real PNG (Pillow), for pictures and agents' images."""
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def user_id(n: int) -> str:
    return "U" + hashlib.md5(f"user-{n}".encode()).hexdigest()


class LineServer:
    def __init__(self, quota: int = 200, used_before: int = 0):
        self.quota, self.used_before = quota, used_before
        self.profiles: dict[str, dict[str, Any]] = {}
        self.pictures: dict[str, bytes] = {}
        self.contents: dict[str, tuple[bytes, str]] = {}
        self.tokens: dict[str, dict[str, Any]] = {}  #: reply token -> {"at": time, "used": bool}
        self.accepted_keys: dict[str, str] = {}  #: retry key -> request id
        self.delivered: list[Delivered] = []
        self.faults: list[Fault] = []
        self.log: list[Logged] = []
        self._ids = itertools.count(600_000_000_000_000)
        self._lock = threading.RLock()
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="lineserver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- data ------------------------------------------------------------------------------------

    def add_user(self, name: str, n: Optional[int] = None, picture: bool = True) -> str:
        uid = user_id(n if n is not None else len(self.profiles) + 1)
        self.profiles[uid] = {"userId": uid, "displayName": name, "language": "ja",
                              **({"pictureUrl": f"{self.url}/picture/{uid}"} if picture else {})}
        if picture:
            self.pictures[uid] = png((len(self.profiles) * 40 % 256, 120, 200))
        return uid

    def next_id(self) -> str:
        return str(next(self._ids))

    def event(self, uid: str, kind: str = "message", *, message: Optional[dict[str, Any]] = None,
              redelivery: bool = False, event_id: Optional[str] = None, age: float = 0.0,
              reply_token: bool = True, **extra: Any) -> dict[str, Any]:
        """A webhook event as LINE sends it; a reply token is issued (valid one minute from now-age)."""
        event: dict[str, Any] = {
            "type": kind, "mode": "active", "timestamp": int((time.time() - age) * 1000),
            "source": {"type": "user", "userId": uid},
            "webhookEventId": event_id or "01" + uuid.uuid4().hex[:24].upper(),
            "deliveryContext": {"isRedelivery": redelivery}, **extra}
        if kind in ("message", "follow", "postback") and reply_token:
            token = uuid.uuid4().hex
            self.tokens[token] = {"at": time.time() - age, "used": False}
            event["replyToken"] = token
        if message is not None:
            event["message"] = {"id": self.next_id(), **message}
        return event

    def text(self, uid: str, text: str, **kw: Any) -> dict[str, Any]:
        return self.event(uid, message={"type": "text", "text": text, "quoteToken": uuid.uuid4().hex}, **kw)

    def content_event(self, uid: str, kind: str, data: bytes, content_type: str, **fields: Any) -> dict[str, Any]:
        event = self.event(uid, message={"type": kind, "contentProvider": {"type": "line"}, **fields})
        self.contents[event["message"]["id"]] = (data, content_type)
        return event

    def delivery(self, *events: dict[str, Any]) -> bytes:
        return json.dumps({"destination": BOT_USER_ID, "events": list(events)}, ensure_ascii=False).encode()

    def script(self, method: str, path: str, status: int = 500, **kw: Any) -> None:
        self.faults.append(Fault(method, path, status, **kw))

    def requests_to(self, method: str, path: str) -> list[Logged]:
        return [r for r in self.log if r.method == method and re.search(path, r.path)]

    # --- HTTP ------------------------------------------------------------------------------------

    def _fault(self, req: Request) -> Optional[Fault]:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.method == req.method and re.search(fault.path, req.path):
                    fault.times -= 1
                    return fault
        return None

    def _json(self, body: Any, status: int = 200, **headers: str) -> Response:
        response = Response(json.dumps(body), status=status, mimetype="application/json")
        response.headers["x-line-request-id"] = str(uuid.uuid4())
        for key, value in headers.items():
            response.headers[key.replace("_", "-")] = value
        return response

    def _wsgi(self, environ: dict[str, Any], start_response: Any):
        req = Request(environ)
        raw = req.get_data()
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        entry = Logged(req.method, req.path, {k.lower(): v for k, v in req.headers.items()}, payload)
        with self._lock:
            self.log.append(entry)
        response = self._dispatch(req, payload or {})
        entry.status = response.status_code
        return response(environ, start_response)

    def _dispatch(self, req: Request, payload: dict[str, Any]) -> Response:
        if match := re.fullmatch(r"/picture/(U[0-9a-f]{32})", req.path):  # the CDN: no token
            found = self.pictures.get(match.group(1))
            return Response(found, mimetype="image/png") if found else self._json({"message": "Not found"}, 404)
        if req.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
            return self._json({"message": "Authentication failed"}, 401)
        fault = self._fault(req)
        if fault is not None and not fault.after_accept:
            return self._faulty(fault)
        response = self._handle(req, payload)
        if fault is not None and response.status_code == 200:
            return self._faulty(fault)
        return response

    def _faulty(self, fault: Fault) -> Response:
        if fault.delay:
            time.sleep(fault.delay)
        return self._json({"message": "fault injected"}, fault.status)

    def _handle(self, req: Request, payload: dict[str, Any]) -> Response:
        path = req.path
        if req.method == "POST" and path == "/v2/bot/message/reply":
            return self._reply(payload)
        if req.method == "POST" and path == "/v2/bot/message/push":
            return self._push(req, payload)
        if path == "/v2/bot/message/quota":
            return self._json({"type": "limited", "value": self.quota})
        if path == "/v2/bot/message/quota/consumption":
            pushes = sum(1 for d in self.delivered if d.mode == "push")
            return self._json({"totalUsage": self.used_before + pushes})
        if match := re.fullmatch(r"/v2/bot/profile/(U[0-9a-f]{32})", path):
            profile = self.profiles.get(match.group(1))
            return self._json(profile) if profile else self._json({"message": "Not found"}, 404)
        if match := re.fullmatch(r"/v2/bot/message/(\d+)/content", path):
            found = self.contents.get(match.group(1))
            if found is None:
                return self._json({"message": "Not found"}, 404)
            return Response(found[0], mimetype=found[1])
        return self._json({"message": "Not found"}, 404)

    def _texts(self, payload: dict[str, Any]) -> Optional[list[str]]:
        messages = payload.get("messages") or []
        if not messages or len(messages) > 5 or any(not self._valid(m) for m in messages):
            return None
        return [m["text"] for m in messages if m["type"] == "text"]

    @staticmethod
    def _valid(message: dict[str, Any]) -> bool:
        if message.get("type") == "text":
            return bool(message.get("text"))
        if message.get("type") == "image":
            urls = (message.get("originalContentUrl") or "", message.get("previewImageUrl") or "")
            return all(u.startswith("https://") and len(u) <= 2000 for u in urls)
        return False

    @staticmethod
    def _images(payload: dict[str, Any]) -> list[tuple[str, str]]:
        return [(m["originalContentUrl"], m["previewImageUrl"]) for m in payload.get("messages") or []
                if m.get("type") == "image"]

    def _reply(self, payload: dict[str, Any]) -> Response:
        with self._lock:
            token = self.tokens.get(payload.get("replyToken") or "")
            if token is None or token["used"] or time.time() - token["at"] > 60:
                return self._json({"message": "Invalid reply token"}, 400)
            texts = self._texts(payload)
            if texts is None:
                return self._json({"message": "The request body has 1 error(s)"}, 400)
            token["used"] = True
            self.delivered.append(Delivered("reply", payload["replyToken"], texts, images=self._images(payload)))
        return self._json({"sentMessages": [{"id": self.next_id(), "quoteToken": uuid.uuid4().hex}]})

    def _push(self, req: Request, payload: dict[str, Any]) -> Response:
        key = req.headers.get("X-Line-Retry-Key")
        with self._lock:
            if key is not None:
                try:
                    uuid.UUID(key)
                except ValueError:
                    return self._json({"message": "Invalid retry key"}, 400)
                if key in self.accepted_keys:
                    return self._json({"message": "The retry key is already accepted",
                                       "sentMessages": [{"id": "0"}]}, 409,
                                      x_line_accepted_request_id=self.accepted_keys[key])
            texts = self._texts(payload)
            if texts is None or not re.fullmatch(r"U[0-9a-f]{32}", payload.get("to") or ""):
                return self._json({"message": "The request body has 1 error(s)"}, 400)
            request_id = str(uuid.uuid4())
            if key is not None:
                self.accepted_keys[key] = request_id
            self.delivered.append(Delivered("push", payload["to"], texts, key, images=self._images(payload)))
        return self._json({"sentMessages": [{"id": self.next_id(), "quoteToken": uuid.uuid4().hex}]},
                          x_line_request_id=request_id)


def line_config(server: LineServer, **overrides: Any) -> dict[str, Any]:
    """App config pointing the LINE channel (both hosts) at `server`."""
    config = {"LINE_API_BASE_URL": server.url, "LINE_DATA_API_BASE_URL": server.url,
              "LINE_CHANNEL_SECRET": SECRET, "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN, "LINE_HTTP_TIMEOUT": 1}
    config.update(overrides)
    return config


@pytest.fixture
def lineserver():
    """A fresh local LINE API server for one test."""
    server = LineServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def line_app(app, lineserver):
    app.config.update(line_config(lineserver))
    return app


def post_delivery(client, body: bytes, secret: str = SECRET, signature: Optional[str] = None):
    """POST a webhook delivery as LINE does (signed unless `signature` is given)."""
    return client.post("/hooks/line", data=body, content_type="application/json",
                       headers={"X-Line-Signature": sign(body, secret) if signature is None else signature})
