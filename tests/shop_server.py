"""A shop endpoint on loopback for the webhook backend tests: real HTTP, scripted answers."""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ShopServer:
    """Answers each POST with the next scripted (status, body, delay); records what it got."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict | str, float]] = []
        self.default = (200, {"ok": True}, 0.0)
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.requests.append({"headers": dict(self.headers), "body": body})
                status, reply, delay = server.script.pop(0) if server.script else server.default
                if delay:
                    time.sleep(delay)
                data = (json.dumps(reply) if isinstance(reply, dict) else reply).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):  # keep test output quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/tsunagu/actions"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
