"""The API as an integrator meets it: over real HTTP on loopback, with `requests`.

The README's client example runs as written (token and address aside), and a client that
retries a POST after a 503 (here a proxy that loses the first answer) opens one ticket.
"""

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry
from werkzeug.serving import WSGIRequestHandler, make_server

from tests.conftest import _demo_world, user
from ticketing.app import create_app
from ticketing.db import db
from ticketing.models import MODELS, Ticket

README = Path(__file__).resolve().parents[2] / "README.md"


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-"):
        pass


@pytest.fixture
def served(tmp_path):
    """The app on a fresh seeded SQLite file, served on a free loopback port."""
    from ticketing import search
    from ticketing.seeding import seed

    application = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'mesa.sqlite3'}",
            "INSTANCE_PATH": str(tmp_path),
            "SECRET_KEY": "http-test-secret-key",
            "PUBLIC_URL": "http://mesa.test",
            "MAIL_SERVER": None,
            "REDIS_URL": None,
            "SEED_DEMO": False,
        }
    )
    db.connect(reuse_if_open=True)
    db.create_tables(MODELS)
    search.install()
    with application.app_context():
        seed()
        _demo_world()
    server = make_server("127.0.0.1", 0, application, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    context = application.app_context()
    context.push()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        context.pop()
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        if not db.is_closed():
            db.close()


def _token(key: str) -> str:
    from ticketing.api_tokens import create_token

    return create_token(user(key), name="http test")[1]


def _readme_example() -> str:
    section = README.read_text().split("## The API", 1)[1].split("\n## ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    return code


def test_the_readme_example_runs_against_a_real_server(served, monkeypatch):
    from ticketing import services

    code = _readme_example()
    assert len(code.strip().splitlines()) <= 12
    code = code.replace("mesa_...", _token("interno"))
    code = code.replace("https://mesa.example.gob.ec", served)
    polls = []

    def meanwhile_the_help_desk_resolves_it(seconds):
        (ticket,) = Ticket.select().where(Ticket.title == "No puedo firmar")
        polls.append(seconds)
        services.transition(user("focal"), ticket.id, "resolver", comment="Reinstale el token.")

    monkeypatch.setattr(time, "sleep", meanwhile_the_help_desk_resolves_it)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)  # noqa: S102 - our own README
    assert scope["ticket"]["reference"].startswith("MESA-")
    assert polls == [60]
    assert Ticket.get_by_id(scope["ticket"]["id"]).state == "resuelto"


class LosesTheFirstAnswer(BaseHTTPRequestHandler):
    """A proxy in front of the app that passes the first POST on, then answers the client
    503 as if it had timed out: the change is made, the client never sees it."""

    upstream = ""
    forwarded: list[int] = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
        answer = requests.post(self.upstream + self.path, data=body, headers=headers, timeout=30)
        self.forwarded.append(answer.status_code)
        status, content = (
            (503, b"") if len(self.forwarded) == 1 else (answer.status_code, answer.content)
        )
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        for name in ("Idempotent-Replayed", "Location"):
            if name in answer.headers and status != 503:
                self.send_header(name, answer.headers[name])
        self.end_headers()
        self.wfile.write(content)

    def log_message(self, *args):
        pass


def _post_through_the_proxy(served, title: str, headers: dict):
    """POST a support ticket through the lossy proxy with a client retrying on 503."""
    LosesTheFirstAnswer.upstream, LosesTheFirstAnswer.forwarded = served, []
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), LosesTheFirstAnswer)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        client = requests.Session()
        retry = Retry(total=3, status_forcelist=[503], allowed_methods=None, backoff_factor=0)
        client.mount("http://", HTTPAdapter(max_retries=retry))
        client.headers["Authorization"] = f"Bearer {_token('interno')}"
        body = {
            "type": "soporte",
            "title": title,
            "fields": {"categoria": "consulta", "modulo": "reportes", "descripcion": "x"},
        }
        url = f"http://127.0.0.1:{proxy.server_port}/api/v1/tickets"
        return client.post(url, json=body, headers=headers, timeout=30)
    finally:
        proxy.shutdown()
        thread.join(timeout=10)
        proxy.server_close()


def test_a_client_retrying_after_a_503_opens_one_ticket(served):
    answer = _post_through_the_proxy(served, "Tras un 503", {"Idempotency-Key": "retry-503"})
    assert LosesTheFirstAnswer.forwarded == [201, 201]  # the app answered twice...
    assert answer.status_code == 201
    assert answer.headers["Idempotent-Replayed"] == "true"  # ...the second from memory
    (ticket,) = Ticket.select().where(Ticket.title == "Tras un 503")  # one ticket
    assert answer.json()["id"] == ticket.id


def test_without_a_key_the_same_retry_opens_two(served):
    """Control: the proxy and the retry do lose an answer; the key is what saves it."""
    answer = _post_through_the_proxy(served, "Sin clave", {})
    assert answer.status_code == 201 and "Idempotent-Replayed" not in answer.headers
    assert Ticket.select().where(Ticket.title == "Sin clave").count() == 2
