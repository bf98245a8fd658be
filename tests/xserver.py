"""A local X API v2 server on loopback, speaking the wire format tweepy talks to.

A real HTTP server (werkzeug, in a thread) holding users and posts in memory:

- GET  /2/users/:id/mentions   since_id, until_id, max_results (5-100), pagination_token,
                               expansions=author_id, tweet.fields, user.fields; newest first; only
                               the newest `reach` mentions are reachable (X documents ~800)
- GET  /2/tweets/search/recent query (quoted/bare keywords, OR, -is:retweet, -from:, -@handle),
                               since_id, max_results (10-100), next_token
- GET  /2/users/:id/tweets     the user's own posts (used to find a post after a 403 duplicate)
- GET  /2/tweets/:id           one post (200 with an `errors` array when it is gone)
- POST /2/tweets               text + reply.in_reply_to_tweet_id; OAuth 1.0a user context with a
                               verified HMAC-SHA1 signature; 403 for duplicate content

Every response carries x-rate-limit-limit/remaining/reset. `script()` queues faults: 429 with or
without rate-limit headers, 5xx storms, a 503 *after* the post was created (a lost answer),
or any status and body for requests matching a method, path and predicate. Authors can be made
unavailable (deleted or protected): their posts come back with partial data and an `errors` entry.
"""
from __future__ import annotations

import html
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any, Callable, Optional

from oauthlib.oauth1.rfc5849 import signature as oauth_signature
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

BEARER = "test-bearer-token"
CONSUMER = ("test-consumer-key", "test-consumer-secret")
ACCESS = ("test-access-token", "test-access-secret")
DEFAULT_FIELDS = ("id", "text", "edit_history_tweet_ids")
PROBLEMS = "https://api.twitter.com/2/problems/"


@dataclass
class Fault:
    method: str
    path: str  #: regex matched against the path
    status: int
    times: int = 1
    headers: bool = True  #: send x-rate-limit-* (429 without them is a real case)
    reset_in: int = 60
    body: Optional[dict[str, Any]] = None
    when: Callable[[Request], bool] = lambda req: True
    #: For POST /2/tweets: create the post, then answer with `status` (the answer is lost).
    after_create: bool = False


@dataclass
class Logged:
    method: str
    path: str
    args: dict[str, str]
    json: Optional[dict[str, Any]]
    status: int
    auth: str = ""


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:  # no access log on stderr
        pass


class XServer:
    def __init__(self, user_id: str = "9000000001", handle: str = "tsunagu_shop", reach: int = 800):
        self.user_id, self.handle, self.reach = user_id, handle, reach
        self.users: dict[str, dict[str, Any]] = {}
        self.posts: dict[str, dict[str, Any]] = {}
        #: user id -> 'deleted' | 'protected'
        self.unavailable: dict[str, str] = {}
        self.faults: list[Fault] = []
        self.log: list[Logged] = []
        self._ids = itertools.count(1_900_000_000_000_000_000, 4096)
        self._lock = threading.RLock()
        self._mention_ids: Optional[list[int]] = None
        self.add_user("Tsunagu Shop", handle, user_id=user_id)
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="xserver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- data ------------------------------------------------------------------------------------

    def add_user(self, name: str, username: str, *, user_id: Optional[str] = None, protected: bool = False) -> str:
        user_id = user_id or str(next(self._ids) // 4096 % 10**12 + 10**11)
        self.users[user_id] = {"id": user_id, "name": name, "username": username, "protected": protected}
        return user_id

    def add_post(self, author_id: str, text: str, *, reply_to: Optional[str] = None, mention_us: bool = True,
                 created_at: Optional[datetime] = None) -> dict[str, Any]:
        """A post by `author_id`; replies inherit the conversation; `mention_us` adds @handle."""
        with self._lock:
            post_id = str(next(self._ids))
            parent = self.posts.get(reply_to) if reply_to else None
            if mention_us and f"@{self.handle}" not in text:
                text = f"@{self.handle} {text}"
            post: dict[str, Any] = {
                "id": post_id, "text": text, "author_id": author_id, "edit_history_tweet_ids": [post_id],
                "created_at": (created_at or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "conversation_id": parent["conversation_id"] if parent else post_id, "lang": "ja",
            }
            if parent:
                post["in_reply_to_user_id"] = parent["author_id"]
                post["referenced_tweets"] = [{"type": "replied_to", "id": parent["id"]}]
            mentions = [{"start": m.start(), "end": m.end(), "username": m.group(1),
                         "id": self._user_id_by_handle(m.group(1))} for m in re.finditer(r"@(\w+)", text)]
            if mentions:
                post["entities"] = {"mentions": mentions}
            self.posts[post_id] = post
            self._mention_ids = None
            return post

    def _user_id_by_handle(self, handle: str) -> str:
        return next((u["id"] for u in self.users.values() if u["username"].lower() == handle.lower()), "0")

    def script(self, method: str, path: str, status: int, **kwargs: Any) -> Fault:
        fault = Fault(method, path, status, **kwargs)
        self.faults.append(fault)
        return fault

    def our_posts(self) -> list[dict[str, Any]]:
        return [p for p in self.posts.values() if p["author_id"] == self.user_id]

    def requests_to(self, method: str, path_re: str) -> list[Logged]:
        return [r for r in self.log if r.method == method and re.search(path_re, r.path)]

    # --- wire format -----------------------------------------------------------------------------

    def _post_json(self, post: dict[str, Any], fields: set[str]) -> dict[str, Any]:
        out = {k: v for k, v in post.items() if k in fields or k in DEFAULT_FIELDS}
        out["text"] = html.escape(post["text"], quote=False)  # X escapes &, < and >
        return out

    def _user_json(self, user: dict[str, Any], fields: set[str]) -> dict[str, Any]:
        return {k: v for k, v in user.items() if k in fields or k in ("id", "name", "username")}

    def _collection(self, req: Request, posts: list[dict[str, Any]], token_param: str) -> dict[str, Any]:
        """A page of `posts` (newest first) with includes, partial errors and meta."""
        args = req.args
        since, until = args.get("since_id"), args.get("until_id")
        posts = [p for p in posts if (not since or int(p["id"]) > int(since)) and (not until or int(p["id"]) < int(until))]
        token = args.get(token_param)
        if token:
            below = int(token.removeprefix("pg"), 36)
            posts = [p for p in posts if int(p["id"]) < below]
        size = int(args.get("max_results", 10))
        page, rest = posts[:size], posts[size:]
        tweet_fields = set(filter(None, args.get("tweet.fields", "").split(",")))
        expansions = set(filter(None, args.get("expansions", "").split(",")))
        if "author_id" in expansions:
            tweet_fields.add("author_id")
        body: dict[str, Any] = {"meta": {"result_count": len(page)}}
        if page:
            body["data"] = [self._post_json(p, tweet_fields) for p in page]
            body["meta"].update(newest_id=page[0]["id"], oldest_id=page[-1]["id"])
            if "author_id" in expansions:
                self._add_authors(body, page, set(filter(None, args.get("user.fields", "").split(","))))
        if rest and page:
            body["meta"]["next_token"] = "pg" + _base36(int(page[-1]["id"]))
        return body

    def _add_authors(self, body: dict[str, Any], page: list[dict[str, Any]], user_fields: set[str]) -> None:
        users, errors = [], []
        for author_id in dict.fromkeys(p["author_id"] for p in page):
            why = self.unavailable.get(author_id)
            if why == "deleted" or (why is None and author_id not in self.users):
                errors.append({"value": author_id, "detail": f"Could not find user with id: [{author_id}].",
                               "title": "Not Found Error", "resource_type": "user", "parameter": "author_id",
                               "resource_id": author_id, "type": PROBLEMS + "resource-not-found"})
            elif why == "protected":
                errors.append({"value": author_id, "detail": f"Sorry, you are not authorized to see the user "
                               f"with id: [{author_id}].", "title": "Authorization Error", "resource_type": "user",
                               "parameter": "author_id", "resource_id": author_id,
                               "type": PROBLEMS + "not-authorized-for-resource"})
            else:
                users.append(self._user_json(self.users[author_id], user_fields))
        if users:
            body["includes"] = {"users": users}
        if errors:
            body["errors"] = errors

    def _mentions(self) -> list[dict[str, Any]]:
        if self._mention_ids is None:
            self._mention_ids = sorted((int(p["id"]) for p in self.posts.values()
                                        if p["author_id"] != self.user_id and any(
                                            m["id"] == self.user_id for m in p.get("entities", {}).get("mentions", []))),
                                       reverse=True)
        return [self.posts[str(i)] for i in self._mention_ids[: self.reach]]

    def _search(self, query: str) -> list[dict[str, Any]]:
        terms = [t.strip('"').casefold() for t in re.findall(r'"[^"]+"|[^\s()]+', query)
                 if not t.startswith("-") and t != "OR" and ":" not in t]
        exclude_from = re.findall(r"-from:(\S+)", query)
        exclude_at = [h.casefold() for h in re.findall(r"-@(\w+)", query)]
        found = []
        for post in self.posts.values():
            text = post["text"].casefold()
            if not any(t in text for t in terms):
                continue
            author = self.users.get(post["author_id"], {})
            if post["author_id"] in exclude_from or author.get("username") in exclude_from:
                continue
            if any(f"@{h}" in text for h in exclude_at):
                continue
            found.append(post)
        return sorted(found, key=lambda p: int(p["id"]), reverse=True)

    # --- HTTP ------------------------------------------------------------------------------------

    def _headers(self, fault: Optional[Fault] = None) -> dict[str, str]:
        if fault is not None and not fault.headers:
            return {}
        reset = int(time.time()) + (fault.reset_in if fault else 900)
        return {"x-rate-limit-limit": "450", "x-rate-limit-remaining": "0" if fault and fault.status == 429 else "449",
                "x-rate-limit-reset": str(reset)}

    def _json(self, body: Any, status: int = 200, headers: Optional[dict[str, str]] = None) -> Response:
        return Response(json.dumps(body, ensure_ascii=False), status=status,
                        headers=headers if headers is not None else self._headers(),
                        content_type="application/json; charset=utf-8")

    def _problem(self, status: int, title: str, detail: str, kind: str = "about:blank",
                 fault: Optional[Fault] = None) -> Response:
        return self._json({"title": title, "detail": detail, "type": kind, "status": status}, status,
                          self._headers(fault))

    def _wsgi(self, environ: dict[str, Any], start_response: Callable) -> Any:
        req = Request(environ)
        payload = req.get_json(silent=True) if req.method == "POST" else None
        with self._lock:
            response = self._dispatch(req, payload)
            self.log.append(Logged(req.method, req.path, dict(req.args), payload, response.status_code,
                                   req.headers.get("Authorization", "")[:6]))
        return response(environ, start_response)

    def _fault(self, req: Request) -> Optional[Fault]:
        for fault in self.faults:
            if fault.times > 0 and fault.method == req.method and re.search(fault.path, req.path) and fault.when(req):
                fault.times -= 1
                return fault
        return None

    def _fault_response(self, fault: Fault) -> Response:
        if fault.body is not None:
            return self._json(fault.body, fault.status, self._headers(fault))
        titles = {429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}
        return self._problem(fault.status, titles.get(fault.status, "Error"), "scripted failure", fault=fault)

    def _dispatch(self, req: Request, payload: Optional[dict[str, Any]]) -> Response:
        fault = self._fault(req)
        if fault is not None and not fault.after_create:
            return self._fault_response(fault)
        if req.method == "POST" and req.path == "/2/tweets":
            response = self._create(req, payload or {})
            return self._fault_response(fault) if fault is not None and response.status_code == 201 else response
        if not req.headers.get("Authorization", "") == f"Bearer {BEARER}":
            return self._problem(401, "Unauthorized", "Unauthorized")
        if match := re.fullmatch(r"/2/users/(\d+)/mentions", req.path):
            return self._bounded(req, 5, 100) or self._json(self._collection(
                req, self._mentions() if match.group(1) == self.user_id else [], "pagination_token"))
        if req.path == "/2/tweets/search/recent":
            return self._bounded(req, 10, 100) or self._json(
                self._collection(req, self._search(req.args.get("query", "")), "next_token"))
        if match := re.fullmatch(r"/2/users/(\d+)/tweets", req.path):
            own = sorted((p for p in self.posts.values() if p["author_id"] == match.group(1)),
                         key=lambda p: int(p["id"]), reverse=True)
            return self._bounded(req, 5, 100) or self._json(self._collection(req, own, "pagination_token"))
        if match := re.fullmatch(r"/2/tweets/(\d+)", req.path):
            post = self.posts.get(match.group(1))
            if post is None:
                return self._json({"errors": [{"value": match.group(1), "detail": f"Could not find tweet with id: "
                                   f"[{match.group(1)}].", "title": "Not Found Error", "resource_type": "tweet",
                                   "parameter": "id", "resource_id": match.group(1),
                                   "type": PROBLEMS + "resource-not-found"}]})
            fields = set(filter(None, req.args.get("tweet.fields", "").split(",")))
            return self._json({"data": self._post_json(post, fields)})
        return self._problem(404, "Not Found", f"no route {req.method} {req.path}")

    def _bounded(self, req: Request, low: int, high: int) -> Optional[Response]:
        size = req.args.get("max_results", str(low))
        if not size.isdigit() or not low <= int(size) <= high:
            return self._json({"errors": [{"parameters": {"max_results": [size]},
                                           "message": f"The `max_results` query parameter value [{size}] is not "
                                                      f"between {low} and {high}"}],
                               "title": "Invalid Request", "detail": "One or more parameters to your request was "
                               "invalid.", "type": PROBLEMS + "invalid-request"}, 400)
        return None

    def _oauth_ok(self, req: Request) -> bool:
        header = req.headers.get("Authorization", "")
        if not header.startswith("OAuth "):
            return False
        params = dict(oauth_signature.collect_parameters(headers={"Authorization": header}, with_realm=False,
                                                         exclude_oauth_signature=False))
        if params.get("oauth_consumer_key") != CONSUMER[0] or params.get("oauth_token") != ACCESS[0]:
            return False
        signed = oauth_signature.collect_parameters(uri_query=req.query_string.decode(),
                                                    headers={"Authorization": header}, with_realm=False)
        base = oauth_signature.signature_base_string(
            req.method, oauth_signature.base_string_uri(f"http://{req.host}{req.path}"),
            oauth_signature.normalize_parameters(signed))
        keys = SimpleNamespace(client_secret=CONSUMER[1], resource_owner_secret=ACCESS[1])
        expected = oauth_signature.sign_hmac_sha1_with_client(base, keys)
        return oauth_signature.safe_string_equals(expected, params.get("oauth_signature", ""))

    def _create(self, req: Request, payload: dict[str, Any]) -> Response:
        if not req.headers.get("Authorization", "").startswith("OAuth "):
            return self._problem(403, "Unsupported Authentication", "Authenticating with OAuth 2.0 Application-Only "
                                 "is forbidden for this endpoint.", PROBLEMS + "unsupported-authentication")
        if not self._oauth_ok(req):
            return self._problem(401, "Unauthorized", "Unauthorized")
        text = payload.get("text") or ""
        if any(p.get("_posted") == text for p in self.our_posts()):
            return self._problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.")
        reply_to = (payload.get("reply") or {}).get("in_reply_to_tweet_id")
        parent = self.posts.get(str(reply_to)) if reply_to else None
        if reply_to and parent is None:
            return self._problem(403, "Forbidden", "You attempted to reply to a Tweet that is deleted or not "
                                 "visible to you.")
        # X shows a reply with the replied-to author's @handle in front; the API answer omits it.
        shown = f"@{self.users[parent['author_id']]['username']} {text}" if parent and parent["author_id"] in self.users else text
        post = self.add_post(self.user_id, shown, reply_to=reply_to, mention_us=False)
        post["_posted"] = text  # what we sent, for X's duplicate-content check
        return self._json({"data": {"id": post["id"], "text": text, "edit_history_tweet_ids": [post["id"]]}}, 201)


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


def x_config(server: XServer, **overrides: Any) -> dict[str, Any]:
    """App config pointing the X channel at `server`."""
    config = {"X_API_BASE_URL": server.url, "X_BEARER_TOKEN": BEARER, "X_CONSUMER_KEY": CONSUMER[0],
              "X_CONSUMER_SECRET": CONSUMER[1], "X_ACCESS_TOKEN": ACCESS[0], "X_ACCESS_TOKEN_SECRET": ACCESS[1],
              "X_USER_ID": server.user_id, "X_HANDLE": server.handle, "X_HTTP_TIMEOUT": 5}
    config.update(overrides)
    return config


def ago(minutes: float) -> datetime:
    return datetime.now(timezone.utc) - timedelta(minutes=minutes)


# --- pytest fixtures (import them into a test module to use them) -----------------------------

import pytest  # noqa: E402


@pytest.fixture
def xserver():
    """A fresh local X API server for one test."""
    server = XServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def x_app(app, xserver):
    """The app with its X channel pointed at `xserver` (small pages, no keywords)."""
    app.config.update(x_config(xserver, X_PAGE_SIZE=5, X_KEYWORDS=[]))
    return app
