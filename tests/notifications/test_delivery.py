"""Delivery: every outbox row reaches the SMTP server exactly once, whatever fails on the way."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from notifications.jobs import deliver, enqueue_delivery, sweep
from tests.conftest import make_ticket, user
from tests.notifications.conftest import run_worker, worker_environment
from ticketing import services
from ticketing.models import FAILED, PENDING, SENT, Outbox, Ticket, TicketEvent

ROOT = Path(__file__).resolve().parents[2]


def _sequence_of_changes():
    """A realistic burst of activity on one ticket: open, assign, comment, note, escalate."""
    ticket = make_ticket(user("interno"))
    services.assign(user("focal"), ticket.id, user("aiq").id)
    services.add_comment(user("focal"), ticket.id, "Estamos revisando su bandeja.")
    services.add_comment(user("aiq"), ticket.id, "Nota: parece un permiso.", internal=True)
    services.transition(user("aiq"), ticket.id, "escalar", comment="Lo revisa SGE.")
    return Ticket.get_by_id(ticket.id)


def _assert_each_row_delivered_once(smtp):
    rows = list(Outbox.select().order_by(Outbox.id))
    assert rows, "the changes wrote no outbox rows"
    assert len(smtp.messages) == len(rows)
    by_id = {m["message_id"]: m for m in smtp.messages}
    assert len(by_id) == len(rows), "a message was delivered twice"
    for row in rows:
        assert row.status == SENT, (row.event, row.status, row.last_error)
        assert by_id[row.message_id]["to"] == [row.recipient]


def test_in_process_delivery_count_equals_outbox_count(app, smtp):
    ticket = _sequence_of_changes()
    _assert_each_row_delivered_once(smtp)
    opened = smtp.mailbox.to(user("interno").email)
    assert any(ticket.reference in m["subject"] for m in opened)


def test_rq_delivery_count_equals_outbox_count(app, smtp, redis_url):
    _sequence_of_changes()
    assert smtp.messages == [], "nothing may be sent inside the request"
    assert all(r.status == PENDING for r in Outbox.select())
    run_worker(app)
    _assert_each_row_delivered_once(smtp)
    # the sweeper and a second worker run find nothing left to send
    app.config["OUTBOX_SWEEP_AFTER_SECONDS"] = 0
    assert sweep() == 0
    run_worker(app)
    _assert_each_row_delivered_once(smtp)


def test_a_row_is_enqueued_once(app, smtp, redis_url):
    from notifications.rq import get_queue

    make_ticket(user("interno"))
    rows = [r.id for r in Outbox.select()]
    queue = get_queue()
    assert sorted(queue.job_ids) == sorted(f"outbox-{i}" for i in rows)
    for outbox_id in rows:
        assert enqueue_delivery(outbox_id) is False  # still queued: not a second time
    assert len(queue.job_ids) == len(rows)
    run_worker(app)
    assert len(smtp.messages) == len(rows)


@pytest.mark.config(OUTBOX_RETRY_INTERVALS=[1], OUTBOX_MAX_ATTEMPTS=3)
def test_smtp_down_then_up_delivers_everything_once(app, smtp, redis_url):
    smtp.stop()
    ticket = make_ticket(user("interno"))
    rows = list(Outbox.select())
    run_worker(app)  # every first attempt fails: connection refused
    for row in Outbox.select():
        assert row.status == PENDING and row.attempts == 1
        assert "Connection refused" in row.last_error or "ConnectionRefused" in row.last_error
    smtp.start()
    time.sleep(1.5)  # the retry interval
    run_worker(app, scheduler=True)
    _assert_each_row_delivered_once(smtp)
    assert all(r.attempts == 2 for r in Outbox.select())
    assert len(rows) == len(smtp.messages)
    assert (
        not TicketEvent.select()
        .where((TicketEvent.ticket == ticket.id) & (TicketEvent.kind == "mail_failed"))
        .exists()
    )


@pytest.mark.config(OUTBOX_MAX_ATTEMPTS=2, OUTBOX_SWEEP_AFTER_SECONDS=0)
def test_failing_send_is_retried_then_marked_failed_and_noted_on_the_ticket(app, smtp):
    smtp.stop()
    ticket = make_ticket(user("interno"))
    assert all(r.status == PENDING and r.attempts == 1 for r in Outbox.select())
    sweep()  # the second and last attempt
    rows = list(Outbox.select())
    assert all(r.status == FAILED and r.attempts == 2 for r in rows)
    notes = list(
        TicketEvent.select().where(
            (TicketEvent.ticket == ticket.id) & (TicketEvent.kind == "mail_failed")
        )
    )
    assert {n.data["recipient"] for n in notes} == {r.recipient for r in rows}
    assert all(n.public is False for n in notes)
    # a failed row is never sent again by the sweeper or a stray job
    smtp.start()
    sweep()
    for row in rows:
        assert deliver(row.id) == FAILED
    assert smtp.messages == []


def test_sent_row_is_never_sent_again(app, smtp):
    make_ticket(user("interno"))
    rows = list(Outbox.select())
    assert len(smtp.messages) == len(rows)
    for row in rows:
        assert deliver(row.id) == SENT  # RQ may run a job twice
    assert len(smtp.messages) == len(rows)


@pytest.mark.config(OUTBOX_SWEEP_AFTER_SECONDS=0)
def test_redis_down_at_commit_the_change_commits_and_the_sweeper_catches_up(
    app, smtp, redis_server
):
    app.config["REDIS_URL"] = redis_server.url
    redis_server.stop()
    ticket = make_ticket(user("interno"), title="Redis caído")
    assert Ticket.get_by_id(ticket.id).title == "Redis caído"
    rows = list(Outbox.select())
    assert rows and all(r.status == PENDING and r.attempts == 0 for r in rows)
    assert smtp.messages == []
    redis_server.start()
    assert sweep() == len(rows)
    run_worker(app)
    _assert_each_row_delivered_once(smtp)


@pytest.mark.config(MAIL_TIMEOUT=1)
def test_a_silent_smtp_server_times_out_instead_of_hanging_the_worker(app):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)  # accepts connections, never says a word
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=listener.getsockname()[1])
    try:
        make_ticket(user("interno"))
    finally:
        listener.close()
    rows = list(Outbox.select())
    assert rows and all(r.status == PENDING for r in rows)
    assert all("timed out" in r.last_error for r in rows), [r.last_error for r in rows]


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def _rq_worker(app, *args, **popen):
    command = [
        sys.executable,
        "-m",
        "rq.cli",
        "worker",
        "--worker-class",
        "notifications.rq.AppWorker",
        "--serializer",
        "rq.serializers.JSONSerializer",
        "--url",
        app.config["REDIS_URL"],
        *args,
        app.config["RQ_QUEUE"],
    ]
    return subprocess.Popen(command, cwd=ROOT, env=worker_environment(app), **popen)


@pytest.mark.file_db
@pytest.mark.config(OUTBOX_SWEEP_AFTER_SECONDS=0)
def test_worker_killed_mid_smtp_exchange_delivers_exactly_once_after_recovery(app, smtp, redis_url):
    from rq.registry import StartedJobRegistry

    from notifications.rq import get_queue

    smtp.mailbox.hold_next = True  # the first SMTP session stops inside the exchange
    make_ticket(user("interno"))
    rows = list(Outbox.select().order_by(Outbox.id))
    worker = _rq_worker(app, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert smtp.mailbox.entered.wait(60), worker.stderr.read1().decode(errors="replace")
        for pid in _children(worker.pid):  # the work horse, inside the SMTP exchange
            os.kill(pid, signal.SIGKILL)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        worker.stderr.close()
    smtp.mailbox.release.set()
    assert smtp.messages == []
    claimed = [r for r in Outbox.select() if r.status == "sending"]
    assert len(claimed) == 1 and claimed[0].attempts == 1

    # recovery: the sweeper hands the dead worker's row to a new worker
    assert sweep() >= 1
    recovery = _rq_worker(app, "--burst", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, errors = recovery.communicate(timeout=120)
    assert recovery.returncode == 0, errors.decode(errors="replace")
    _assert_each_row_delivered_once(smtp)
    assert len(smtp.messages) == len(rows)

    # RQ's own clean-up of the abandoned job, another sweep and worker: still once
    StartedJobRegistry(queue=get_queue()).cleanup(timestamp=time.time() + 3600)
    sweep()
    run_worker(app)
    _assert_each_row_delivered_once(smtp)


@pytest.mark.config(OUTBOX_SWEEP_AFTER_SECONDS=0)
def test_rq_cron_schedules_the_sweeper_as_json_and_a_worker_runs_it(app, smtp, redis_url):
    from notifications.rq import get_queue

    make_ticket(user("interno"))  # enqueued, then the jobs are lost with Redis' data
    get_queue().connection.flushdb()
    env = worker_environment(app, RQ_QUEUE=app.config["RQ_QUEUE"])
    cron = subprocess.Popen(
        [sys.executable, "-m", "rq.cli", "cron", "--url", redis_url, "notifications.cron"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        queue = get_queue()
        deadline = time.monotonic() + 60
        while not queue.job_ids and time.monotonic() < deadline and cron.poll() is None:
            time.sleep(0.1)
    finally:
        cron.terminate()
        _, errors = cron.communicate(timeout=30)
    jobs = [queue.fetch_job(i) for i in queue.job_ids]
    assert [j.func_name for j in jobs] == ["notifications.jobs.sweep_job"], errors.decode()
    run_worker(app)  # the sweep job, then the deliveries it enqueued
    _assert_each_row_delivered_once(smtp)
