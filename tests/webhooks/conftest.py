"""A real webhook receiver on a loopback port that verifies signatures and can go down,
plus the app, Redis and worker fixtures of the mail tests (same real services)."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.notifications.conftest import (  # noqa: F401  (fixtures and hooks re-used here)
    app,
    at_once,
    free_port,
    pytest_configure,
    redis_server,
    redis_server_url,
    redis_url,
    run_worker,
)

SIGNATURE_WINDOW_SECONDS = 300  # a receiver refuses timestamps older (or newer) than this


class Receiver:
    """An HTTP server on a fixed loopback port that checks X-Mesa-Signature with `secret`.

    It keeps every request it got (`requests`) and the event ids of those whose signature
    verified (`events`); `answer` (status, headers) is what it replies, `delay` how long it
    waits first. `stop()` closes the port (connection refused); `start()` opens it again.
    """

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.secret = ""
        self.requests: list[dict] = []
        self.events: list[str] = []
        self.answer = (200, {})
        self.answer_body = b"ok"
        self.delay = 0.0
        self.server = None
        self.thread = None
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/mesa"

    def verified(self, headers, body: bytes) -> bool:
        timestamp = headers.get("X-Mesa-Timestamp", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > SIGNATURE_WINDOW_SECONDS:
            return False
        expected = (
            "sha256="
            + hmac.new(
                self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
            ).hexdigest()
        )
        return hmac.compare_digest(expected, headers.get("X-Mesa-Signature", ""))

    def start(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.delay:
                    time.sleep(receiver.delay)
                ok = receiver.verified(self.headers, body)
                with receiver.lock:
                    receiver.requests.append(
                        {
                            "path": self.path,
                            "headers": dict(self.headers),
                            "body": body,
                            "json": json.loads(body),
                            "verified": ok,
                        }
                    )
                    if ok:
                        receiver.events.append(self.headers["X-Mesa-Delivery"])
                status, headers = receiver.answer if ok else (401, {})
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(receiver.answer_body)))
                self.end_headers()
                self.wfile.write(receiver.answer_body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(5)
            self.server = None


@pytest.fixture
def receiver():
    """A running receiver; `receiver.stop()` / `receiver.start()` take it down and up."""
    server = Receiver().start()
    yield server
    server.stop()
