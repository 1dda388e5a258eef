"""A database blip: requests answer 503 (never 500), and every mail still goes out once.

The fault tests kill the backends of the test database only (TEST_DATABASE_URL's own,
never another's) or relay the database through a loopback proxy they cut; they exist on
PostgreSQL only, where there are backends to kill. The take-over race runs on both.
"""

import os
import signal
import subprocess
import threading
import time
import traceback
from urllib.parse import urlsplit

import peewee
import pytest
import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from notifications import jobs
from notifications.jobs import deliver, sweep
from tests.conftest import make_ticket, user
from tests.notifications.conftest import (
    TCPProxy,
    at_once,
    kill_backends,
    rq_worker_process,
    run_worker,
)
from ticketing.api_tokens import create_token
from ticketing.db import discard_connection
from ticketing.models import PENDING, SENT, Outbox, Ticket, now
from ticketing.outbox import SENDING

POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))


def postgres_only(test):
    """Run `test` on PostgreSQL only; without TEST_DATABASE_URL it does not exist at all."""
    return pytest.mark.parametrize("app", ["postgres"], indirect=True)(test) if POSTGRES else None


def _each_row_sent_once(smtp) -> list[Outbox]:
    rows = list(Outbox.select().order_by(Outbox.id))
    assert rows, "no outbox rows"
    unsent = [(r.id, r.status, r.last_error) for r in rows if r.status != SENT]
    assert not unsent, unsent
    ids = [m["message_id"] for m in smtp.messages]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"delivered twice: {duplicates}"
    assert sorted(ids) == sorted(r.message_id for r in rows)
    return rows


def _recover(app, smtp, *, seconds: float = 90) -> None:
    """What production does after the blip, with no RQ scheduler: sweep, and a worker."""
    deadline = time.monotonic() + seconds
    while True:
        discard_connection()  # this thread's connection may have been killed too
        sweep()
        run_worker(app)
        rows = list(Outbox.select(Outbox.status))
        if all(r.status == SENT for r in rows) or time.monotonic() > deadline:
            return
        time.sleep(0.3)


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):
        pass


# ---------------------------------------------------------------- a request loses its database


def _api_headers():
    return {"Authorization": f"Bearer {create_token(user('interno'))[1]}"}


@postgres_only
def test_a_request_that_loses_its_database_answers_503_and_the_next_one_reconnects(
    app, client, auth
):
    headers = _api_headers()
    retry_after = str(app.config["DB_RETRY_AFTER_SECONDS"])
    assert client.get("/api/v1/tickets", headers=headers).status_code == 200

    Ticket.select().count()  # this thread holds a connection, which the next request reuses
    assert kill_backends() >= 1  # and the server drops it
    response = client.get("/api/v1/tickets", headers=headers)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == retry_after
    assert response.get_json() == {
        "error": "unavailable",
        "message": "El servicio no está disponible por un momento. "
        "Intente de nuevo en unos segundos.",
        "fields": {},
    }
    assert client.get("/api/v1/tickets", headers=headers).status_code == 200

    # a connection known to be broken (a statement failed on it) is never handed to a request
    Ticket.select().count()
    kill_backends()
    with pytest.raises(peewee.OperationalError):
        Ticket.select().count()
    assert client.get("/api/v1/tickets", headers=headers).status_code == 200

    auth.login("focal")
    Ticket.select().count()
    assert kill_backends() >= 1
    page = client.get("/cola/", headers={"Accept-Language": "es"})
    assert page.status_code == 503, page.get_data(as_text=True)[:300]
    assert page.headers["Retry-After"] == retry_after
    assert page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "Servicio no disponible por un momento" in text
    assert "Intentar de nuevo" in text
    assert client.get("/cola/").status_code == 200  # the next request connects afresh


@postgres_only
@pytest.mark.config(OUTBOX_SWEEP_AFTER_SECONDS=0, OUTBOX_RETRY_INTERVALS=[1])
def test_burst_of_creates_while_backends_are_killed_answers_2xx_or_503_and_mails_once(
    app, smtp, redis_url
):
    headers = _api_headers()
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    serving = threading.Thread(target=server.serve_forever, daemon=True)
    serving.start()
    url = f"http://127.0.0.1:{server.server_port}/api/v1/tickets"
    worker = rq_worker_process(app, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    answers, errors, kills = [], [], []
    done = threading.Event()

    def killer():
        while not done.is_set():
            kills.append(kill_backends())
            time.sleep(0.5)

    def creator(n: int):
        try:
            with requests.Session() as http:
                for i in range(8):
                    body = {
                        "type": "soporte",
                        "title": f"Ráfaga {n}-{i}",
                        "fields": {
                            "categoria": "incidente",
                            "modulo": "bandeja_entrada",
                            "descripcion": "No puedo firmar un documento.",
                        },
                    }
                    reply = http.post(url, json=body, headers=headers, timeout=60)
                    answers.append((reply.status_code, dict(reply.headers), reply.text[:300]))
        except Exception as exc:
            errors.append("".join(traceback.format_exception(exc)))

    try:
        killing = threading.Thread(target=killer, daemon=True)
        killing.start()
        creators = [threading.Thread(target=creator, args=(n,)) for n in range(4)]
        for thread in creators:
            thread.start()
        for thread in creators:
            thread.join(180)
        done.set()
        killing.join(30)
        assert not errors, errors[0]
        assert sum(kills) > 0, "no backend was killed: the test tested nothing"
        assert len(answers) == 32
        for status, reply_headers, text in answers:
            assert status == 201 or status == 503, (status, text)
            if status == 503:
                assert int(reply_headers["Retry-After"]) > 0
                assert '"error":"unavailable"' in text.replace(" ", ""), text
        # the worker finishes what it has, with no RQ scheduler anywhere
        from rq.registry import StartedJobRegistry

        from notifications.queue import get_queue

        queue = get_queue()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            queue.count or StartedJobRegistry(queue=queue).count
        ):
            time.sleep(0.2)
    finally:
        done.set()
        worker.send_signal(signal.SIGTERM)  # warm shut-down: after its current job
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        worker.stderr.close()
        server.shutdown()
        serving.join(10)
        server.server_close()
    discard_connection()
    created = sum(1 for status, _h, _t in answers if status == 201)
    assert created > 0
    assert Ticket.select().count() >= created
    _recover(app, smtp)
    _each_row_sent_once(smtp)


# ---------------------------------------------------------------- SMTP took it, the row did not


@postgres_only
@pytest.mark.config(OUTBOX_SWEEP_AFTER_SECONDS=0)
def test_mark_sent_after_a_killed_backend_reconnects_and_records_it_at_once(app, smtp):
    killed = []
    # the server accepts each message only after killing every backend, the deliverer's too
    smtp.mailbox.before_accept = lambda: killed.append(kill_backends())
    make_ticket(user("interno"))  # in-process delivery right after commit
    smtp.mailbox.before_accept = None
    discard_connection()
    assert killed and all(killed)
    rows = _each_row_sent_once(smtp)  # recorded by the deliverer itself, no retry needed
    assert all(r.attempts == 1 and r.last_error == "" for r in rows)
    assert sweep() == 0
    _each_row_sent_once(smtp)


@postgres_only
@pytest.mark.config(OUTBOX_SWEEP_AFTER_SECONDS=0, OUTBOX_RETRY_INTERVALS=[1], MAIL_TIMEOUT=20)
def test_database_away_after_smtp_accepted_is_remembered_and_never_sent_twice(app, smtp, redis_url):
    database = urlsplit(os.environ["TEST_DATABASE_URL"])
    proxy = TCPProxy(database.hostname, database.port or 5432)
    try:
        make_ticket(user("interno"))  # enqueued; the worker reaches the database by the proxy
        rows = list(Outbox.select().order_by(Outbox.id))
        assert len(rows) >= 2 and all(r.status == PENDING for r in rows)

        def database_goes_away():
            smtp.mailbox.before_accept = None
            proxy.cut()  # every reconnect is refused until the test restores it

        smtp.mailbox.before_accept = database_goes_away
        worker = rq_worker_process(
            app,
            "--burst",
            env={"DATABASE_URL": proxy.url(os.environ["TEST_DATABASE_URL"])},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _, log = worker.communicate(timeout=120)
        assert worker.returncode == 0, log.decode(errors="replace")
        assert proxy.cut_off.is_set(), log.decode(errors="replace")
    finally:
        proxy.stop()

    [accepted] = smtp.messages
    [claimed] = [r for r in Outbox.select() if r.status == SENDING]
    assert claimed.message_id == accepted["message_id"]
    assert b"accepted, not recorded; its retry will record it" in log
    key = f"mesa:sent:{claimed.message_id}"
    from notifications.queue import redis_connection

    assert redis_connection().ttl(key) > 24 * 3600
    _recover(app, smtp)  # the sweeper takes the row over; the job finds the key: no send
    _each_row_sent_once(smtp)
    assert Outbox.get_by_id(claimed.id).attempts == 1


# ---------------------------------------------------------------- the take-over race


@pytest.mark.file_db
def test_two_deliverers_taking_over_an_expired_claim_send_it_once(app, smtp, monkeypatch):
    import datetime as dt

    row = Outbox.create(
        recipient="interno@insta.ec",
        event="generic",
        context={"reference": "MESA-1", "title": "Reclamo vencido"},
        message_id="<take-over-race@mesa>",
        status=SENDING,
        attempts=1,
        sent_at=now() - dt.timedelta(hours=1),  # its deliverer died long ago
    )
    barrier = threading.Barrier(2)
    claim = jobs._claim

    def claim_together(seen):
        barrier.wait(30)  # both deliverers have read the expired claim before either takes it
        return claim(seen)

    monkeypatch.setattr(jobs, "_claim", claim_together)

    results = at_once(app, lambda: deliver(row.id), timeout=60)
    assert len(smtp.messages) == 1, "both deliverers took the claim over"
    taken = Outbox.get_by_id(row.id)
    assert taken.status == SENT and taken.attempts == 2
    assert SENT in results and len(results) == 2
