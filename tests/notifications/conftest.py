"""Real servers for mail tests: aiosmtpd on a loopback port, Redis, and an app wired to them.

Redis: TEST_REDIS_URL when set (unreachable = the test fails), else a private
redis-server on a free loopback port started for the run: a Redis someone else uses is
never flushed by default. Only that database is flushed. Fault tests start their own
redis-server / SMTP server and stop them, never the shared ones.
"""

import asyncio
import email
import email.policy
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from redis import Redis

from tests.conftest import DATABASES, _database_url, prepare_database
from ticketing.app import create_app
from ticketing.db import db

ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config):
    config.addinivalue_line("markers", "config(**settings): extra app settings for this test")
    config.addinivalue_line(
        "markers", "file_db: SQLite in a file, so another process (a worker) can share it"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- SMTP


class Mailbox:
    """An aiosmtpd handler keeping every message it accepts; it can hold one session."""

    def __init__(self):
        self.messages: list[dict] = []
        self.hold_next = False  # block the next RCPT until `release` is set
        self.hold_quit = False  # block the next QUIT (the mail is already accepted)
        self.before_accept = None  # called in DATA, before the 250 that accepts a message
        self.entered = threading.Event()
        self.release = threading.Event()

    async def _hold(self):
        self.entered.set()
        while not self.release.is_set():
            await asyncio.sleep(0.05)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.hold_next:
            self.hold_next = False
            await self._hold()
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_QUIT(self, server, session, envelope):
        if self.hold_quit:
            self.hold_quit = False
            await self._hold()
        return "221 Bye"

    async def handle_DATA(self, server, session, envelope):
        if self.before_accept is not None:
            self.before_accept()
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "raw": envelope.content,
                "message": parsed,
                "subject": str(parsed["Subject"] or ""),
                "message_id": str(parsed["Message-ID"] or ""),
                "text": _text_of(parsed),
            }
        )
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[dict]:
        return [m for m in self.messages if address in m["to"]]


def _text_of(message) -> str:
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


class SMTPServer:
    """A real SMTP server on a fixed loopback port that can go down and come back."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.mailbox = Mailbox()
        self.controller = None

    def start(self):
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        return self.mailbox.messages


@pytest.fixture
def smtp():
    """A running SMTP server; `smtp.stop()`/`smtp.start()` take it down and up."""
    server = SMTPServer().start()
    yield server
    server.mailbox.release.set()
    server.stop()


# ---------------------------------------------------------------- Redis


class RedisServer:
    """A private redis-server on a free loopback port (for fault tests)."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed (apt-get install redis-server)"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except Exception:
                if time.monotonic() > deadline:
                    self.stop()
                    raise
                time.sleep(0.05)
        client.close()
        return self

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


_private_redis: list[RedisServer] = []


def _reachable(url: str) -> bool:
    client = Redis.from_url(url, socket_connect_timeout=1)
    try:
        return bool(client.ping())
    except Exception:
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_server_url():
    """The Redis the job tests use (see the module docstring)."""
    configured = os.environ.get("TEST_REDIS_URL")
    if configured:
        if not _reachable(configured):
            pytest.fail(f"TEST_REDIS_URL={configured} is set but Redis does not answer")
        yield configured
        return
    server = RedisServer().start()
    _private_redis.append(server)
    yield server.url
    server.stop()


@pytest.fixture
def redis_url(redis_server_url):
    """A flushed Redis database (only ours)."""
    client = Redis.from_url(redis_server_url)
    client.flushdb()
    yield redis_server_url
    client.flushdb()
    client.close()


@pytest.fixture
def redis_server():
    """A private redis-server that a test may stop and start again."""
    server = RedisServer().start()
    yield server
    server.stop()


# ---------------------------------------------------------------- the app


@pytest.fixture(params=DATABASES)
def app(request, tmp_path):
    """The app on a fresh seeded database, wired to the SMTP server and Redis the test uses."""
    kind = request.param
    url = _database_url(kind)
    if kind == "sqlite" and request.node.get_closest_marker("file_db"):
        url = f"sqlite:///{tmp_path / 'mesa.sqlite3'}"
    config = {
        "TESTING": True,
        "DATABASE_URL": url,
        "SECRET_KEY": "test-secret-key",
        "WTF_CSRF_ENABLED": False,
        "PUBLIC_URL": "http://mesa.test",
        "MAIL_SERVER": None,
        "REDIS_URL": None,
        "SEED_DEMO": False,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "MAIL_TIMEOUT": 5,
    }
    if "smtp" in request.fixturenames:
        server = request.getfixturevalue("smtp")
        config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
    if "redis_url" in request.fixturenames:
        config["REDIS_URL"] = request.getfixturevalue("redis_url")
    marker = request.node.get_closest_marker("config")
    if marker:
        config.update(marker.kwargs)
    application = create_app(config)
    prepare_database(application, kind)
    ctx = application.test_request_context()
    ctx.push()
    application.config["DB_KIND"] = kind
    yield application
    ctx.pop()
    if not db.is_closed():
        db.close()


def run_worker(app, url: str | None = None, *, scheduler: bool = False) -> None:
    """Run every queued delivery job now, in this process, as a burst worker does."""
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from notifications.queue import get_queue

    queue = get_queue(url)
    worker = SimpleWorker([queue], connection=queue.connection, serializer=JSONSerializer)
    worker.work(burst=True, with_scheduler=scheduler)


def worker_environment(app, **extra) -> dict:
    """The environment of a real `rq worker` process sharing this test's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESA_")}
    config = app.config
    env.update(
        DATABASE_URL=config["DATABASE_URL"],
        REDIS_URL=config["REDIS_URL"],
        MAIL_SERVER=config["MAIL_SERVER"] or "",
        MAIL_PORT=str(config["MAIL_PORT"]),
        MAIL_TIMEOUT=str(config["MAIL_TIMEOUT"]),
        PUBLIC_URL=config["PUBLIC_URL"],
        SECRET_KEY="test-secret-key",
        SEED_DEMO="0",
        INSTANCE_PATH=config.get("INSTANCE_PATH", ""),
        OUTBOX_SWEEP_AFTER_SECONDS=str(config["OUTBOX_SWEEP_AFTER_SECONDS"]),
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


# ---------------------------------------------------------------- PostgreSQL faults


def killable_database() -> str:
    """The database of TEST_DATABASE_URL: the only one whose backends a test may kill."""
    from urllib.parse import urlsplit

    return urlsplit(os.environ["TEST_DATABASE_URL"]).path.lstrip("/")


def kill_backends() -> int:
    """Terminate every connection to the test database but this one; wait until they are gone.

    Only backends of TEST_DATABASE_URL's own database, on its own (loopback) server.
    """
    import psycopg2

    name = killable_database()
    killer = psycopg2.connect(os.environ["TEST_DATABASE_URL"])
    killer.autocommit = True
    try:
        with killer.cursor() as cursor:
            # in the select list, not the WHERE: only rows that passed the filter are killed
            cursor.execute(
                "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            pids = [pid for pid, terminated in cursor.fetchall() if terminated]
            deadline = time.monotonic() + 10
            while pids and time.monotonic() < deadline:
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (pids,))
                if cursor.fetchone()[0] == 0:
                    break
                time.sleep(0.01)
    finally:
        killer.close()
    return len(pids)


def at_once(app, work, n: int = 2, *, timeout: float = 120) -> list:
    """Run `work()` in `n` threads at once, each in an app context with its own connection.

    Returns what each returned; an exception in any thread fails the caller with its
    traceback.
    """
    import threading
    import traceback

    from ticketing.db import db

    results, errors = [], []

    def run():
        try:
            with app.app_context():
                db.connect(reuse_if_open=True)
                try:
                    results.append(work())
                finally:
                    db.close()
        except Exception as exc:
            errors.append("".join(traceback.format_exception(exc)))

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not errors, errors[0]
    return results


class TCPProxy:
    """A loopback TCP relay to the test database that a test can cut: the database goes away.

    Cut, it drops every relayed connection and hangs up on new ones at once (what a client
    sees of a restarting server); restored, it relays again on the same port.
    """

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.listener.settimeout(0.1)
        self.port = self.listener.getsockname()[1]
        self.cut_off = threading.Event()
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def url(self, database_url: str) -> str:
        """`database_url` with its host and port replaced by the relay's."""
        from urllib.parse import urlsplit, urlunsplit

        parts = urlsplit(database_url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@127.0.0.1:{self.port}" if userinfo else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def _accept(self):
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.cut_off.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            client.settimeout(None)
            with self._lock:
                self._open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        """Drop every relayed connection and refuse new ones."""
        self.cut_off.set()
        with self._lock:
            dropped, self._open = self._open, []
        for sock in dropped:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def restore(self):
        self.cut_off.clear()

    def stop(self):
        self.cut()
        self.stopped.set()
        self._thread.join(5)
        self.listener.close()


def rq_worker_process(app, *args, **popen):
    """A real `rq worker` (the Procfile's worker class and serializer) on this test's queue."""
    command = [
        sys.executable,
        "-m",
        "rq.cli",
        "worker",
        "--worker-class",
        "ticketing.worker.AppWorker",
        "--serializer",
        "rq.serializers.JSONSerializer",
        "--url",
        app.config["REDIS_URL"],
        *args,
        app.config["RQ_QUEUE"],
    ]
    env = worker_environment(app, **popen.pop("env", {}))
    return subprocess.Popen(command, cwd=ROOT, env=env, **popen)
