"""Delivery: every outbox row reaches the SMTP server exactly once, whatever fails on the way."""

import asyncio
import datetime as dt
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
import zlib
from pathlib import Path

import pytest

from notifications.jobs import _claim, deliver, enqueue_delivery, retry_intervals, sweep
from tests.conftest import make_ticket, user
from tests.notifications.conftest import rq_worker_process, run_worker, worker_environment
from ticketing import services, stats
from ticketing.db import db
from ticketing.models import FAILED, PENDING, SENT, Outbox, Ticket, TicketEvent, now
from ticketing.outbox import KEPT, SENDING, unit_of_work

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


def test_a_requests_rows_are_one_job_and_a_rows_own_job_is_enqueued_once(app, smtp, redis_url):
    from notifications.queue import get_queue

    make_ticket(user("interno"))
    rows = [r.id for r in Outbox.select().order_by(Outbox.id)]
    queue = get_queue()
    [batch] = queue.get_jobs()  # the request's rows travel together
    assert batch.func_name == "notifications.jobs.deliver_batch_job"
    assert list(batch.args) == [rows]
    # a row's own job (a retry after a failure in a batch, a take-over) exists once
    for outbox_id in rows:
        assert enqueue_delivery(outbox_id) is True
        assert enqueue_delivery(outbox_id) is False  # still queued: not a second time
    assert sorted(queue.job_ids) == sorted([batch.id, *(f"outbox-{i}" for i in rows)])
    run_worker(app)
    assert len(smtp.messages) == len(rows)  # the batch and the rows' own jobs: each once


def test_delivery_jobs_are_json_with_retry_backoff(app, redis_url):
    from notifications.queue import get_queue

    make_ticket(user("interno"))
    queue = get_queue()
    rows = list(Outbox.select().order_by(Outbox.id))
    assert rows
    [batch] = queue.get_jobs()
    # what a worker of any language reads: JSON, naming the function and the row ids
    stored = json.loads(zlib.decompress(queue.connection.hget(batch.key, "data")))
    assert stored[0] == "notifications.jobs.deliver_batch_job"
    assert stored[2] == [[row.id for row in rows]]
    for row in rows:  # a row's own job, as a row that failed in its batch gets
        enqueue_delivery(row.id)
        job = queue.fetch_job(f"outbox-{row.id}")
        stored = json.loads(zlib.decompress(queue.connection.hget(job.key, "data")))
        assert stored[0] == "notifications.jobs.deliver_job" and stored[2] == [row.id]
        assert job.retries_left == app.config["OUTBOX_MAX_ATTEMPTS"] - 1
        assert job.retry_intervals == [30, 120, 600, 1800]  # each wait longer than the last


@pytest.mark.config(OUTBOX_MAX_ATTEMPTS=7, OUTBOX_RETRY_INTERVALS=[10, 60])
def test_retry_intervals_follow_the_attempts_and_keep_the_longest_wait(app):
    assert retry_intervals() == [10, 60, 60, 60, 60, 60]
    app.config["OUTBOX_MAX_ATTEMPTS"] = 1
    assert retry_intervals() == []


def test_outbox_rows_commit_and_roll_back_with_the_change(app, smtp):
    tickets = Ticket.select().count()
    with pytest.raises(RuntimeError), unit_of_work():
        make_ticket(user("interno"), title="Nunca existió")
        assert Outbox.select().count() > 0  # written inside the change's transaction
        raise RuntimeError("the change fails after its mail was queued")
    assert Ticket.select().count() == tickets
    assert Outbox.select().count() == 0
    assert smtp.messages == []

    # a nested unit that fails rolls back alone, and its rows are not dispatched
    with unit_of_work() as pending:
        kept = make_ticket(user("interno"), title="Se queda")
        with pytest.raises(RuntimeError), unit_of_work():
            make_ticket(user("interno"), title="Se deshace")
            raise RuntimeError
        committed = [r.id for r in Outbox.select().order_by(Outbox.id)]
        assert pending == committed
    assert not Ticket.select().where(Ticket.title == "Se deshace").exists()
    _assert_each_row_delivered_once(smtp)
    assert all(kept.reference in m["subject"] for m in smtp.messages)


def test_without_a_mail_server_mail_is_rendered_kept_and_logged(app, caplog):
    caplog.set_level(logging.INFO, logger="mesa.mail")
    assert not app.config["MAIL_SERVER"] and not app.config["REDIS_URL"]
    ticket = make_ticket(user("interno"), title="Sin servidor de correo")
    rows = list(Outbox.select())
    assert rows and all(r.status == KEPT for r in rows)
    logged = [r.getMessage() for r in caplog.records if r.name == "mesa.mail"]
    for row in rows:
        assert "Sin servidor de correo" in row.subject and ticket.reference in row.body
        [line] = [m for m in logged if row.message_id in m]
        assert row.recipient in line and row.subject in line
    app.config["OUTBOX_SWEEP_AFTER_SECONDS"] = 0
    assert sweep() == 0  # kept is final: configuring a server later sends no stale mail


def test_the_claim_is_one_conditional_update(app):
    row = Outbox.create(
        recipient="interno@insta.ec",
        event="generic",
        context={"reference": "MESA-1", "title": "x"},
        message_id="<claim-test@mesa>",
    )
    first, second = Outbox.get_by_id(row.id), Outbox.get_by_id(row.id)
    assert first.status == second.status == PENDING  # two deliverers read it at once
    assert _claim(first) is True
    assert _claim(second) is False  # the second UPDATE matches no row: it sends nothing
    claimed = Outbox.get_by_id(row.id)
    assert claimed.status == SENDING and claimed.attempts == 1


@pytest.mark.file_db
@pytest.mark.parametrize("runner", ["in-process", "rq"])
def test_sweepers_running_at_once_send_each_row_once(app, smtp, runner, request):
    smtp.stop()
    make_ticket(user("interno"))
    make_ticket(user("focal"))
    rows = list(Outbox.select())
    assert rows and all(r.status == PENDING for r in rows)
    Outbox.update(created_at=now() - dt.timedelta(hours=1)).execute()  # left behind
    smtp.start()
    if runner == "rq":
        app.config["REDIS_URL"] = request.getfixturevalue("redis_url")
    barrier, errors = threading.Barrier(4), []

    def sweeper():  # one process of several machines' cron or workers
        try:
            with app.app_context():
                db.connect(reuse_if_open=True)
                try:
                    barrier.wait(30)
                    sweep()
                finally:
                    db.close()
        except Exception as exc:
            errors.append("".join(traceback.format_exception(exc)))

    threads = [threading.Thread(target=sweeper) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors[0]
    if runner == "rq":
        run_worker(app)
    _assert_each_row_delivered_once(smtp)
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


@pytest.mark.file_db
@pytest.mark.config(OUTBOX_SWEEP_AFTER_SECONDS=0)
def test_worker_killed_mid_smtp_exchange_delivers_exactly_once_after_recovery(app, smtp, redis_url):
    from rq.registry import StartedJobRegistry

    from notifications.queue import get_queue

    smtp.mailbox.hold_next = True  # the first SMTP session stops inside the exchange
    make_ticket(user("interno"))
    rows = list(Outbox.select().order_by(Outbox.id))
    worker = rq_worker_process(app, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
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
    recovery = rq_worker_process(app, "--burst", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, errors = recovery.communicate(timeout=120)
    assert recovery.returncode == 0, errors.decode(errors="replace")
    _assert_each_row_delivered_once(smtp)
    assert len(smtp.messages) == len(rows)

    # RQ's own clean-up of the abandoned job, another sweep and worker: still once
    StartedJobRegistry(queue=get_queue()).cleanup(timestamp=time.time() + 3600)
    sweep()
    run_worker(app)
    _assert_each_row_delivered_once(smtp)


@pytest.mark.file_db
@pytest.mark.config(OUTBOX_SWEEP_AFTER_SECONDS=0, MAIL_TIMEOUT=60)
def test_worker_killed_after_the_server_took_the_mail_leaves_a_recognisable_duplicate(
    app, smtp, redis_url
):
    # the server has stored the first message and not yet answered 250; the row is not yet
    # marked sent (a batch goes on with the next message on the same connection, so the
    # deliverer is killed here rather than at QUIT, which now comes after the records)
    store = smtp.mailbox.handle_DATA

    async def store_then_hold(server, session, envelope):
        reply = await store(server, session, envelope)
        if len(smtp.messages) == 1:
            smtp.mailbox.entered.set()
            while not smtp.mailbox.release.is_set():
                await asyncio.sleep(0.05)
        return reply

    smtp.mailbox.handle_DATA = store_then_hold  # read by each new SMTP session
    make_ticket(user("interno"))
    rows = list(Outbox.select().order_by(Outbox.id))
    worker = rq_worker_process(app, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert smtp.mailbox.entered.wait(60), worker.stderr.read1().decode(errors="replace")
        for pid in _children(worker.pid):
            os.kill(pid, signal.SIGKILL)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        worker.stderr.close()
    smtp.mailbox.release.set()
    [accepted] = smtp.messages
    [claimed] = [r for r in Outbox.select() if r.status == SENDING]
    assert accepted["message_id"] == claimed.message_id

    assert sweep() >= 1
    recovery = rq_worker_process(app, "--burst", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, errors = recovery.communicate(timeout=120)
    assert recovery.returncode == 0, errors.decode(errors="replace")
    assert all(r.status == SENT for r in Outbox.select())
    assert len(smtp.messages) == len(rows) + 1
    # the one duplicate carries the row's fixed Message-ID: a mail client shows it once
    copies = [m for m in smtp.messages if m["message_id"] == claimed.message_id]
    assert len(copies) == 2 and copies[0]["to"] == copies[1]["to"] == [claimed.recipient]
    assert copies[0]["subject"] == copies[1]["subject"]
    assert len({m["message_id"] for m in smtp.messages}) == len(rows)


def _procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text(encoding="utf-8").splitlines()
    return dict(line.split(":", 1) for line in lines if line.strip() and not line.startswith("#"))


def test_procfile_declares_web_a_json_worker_with_scheduler_and_cron():
    processes = {name: command.strip() for name, command in _procfile().items()}
    assert set(processes) == {"web", "worker", "cron"}
    assert processes["web"].startswith("gunicorn ") and processes["web"].endswith(" wsgi:app")
    worker = processes["worker"].split()
    assert worker[:2] == ["rq", "worker"] and "--with-scheduler" in worker
    assert worker[worker.index("--serializer") + 1] == "rq.serializers.JSONSerializer"
    assert worker[worker.index("--worker-class") + 1] == "ticketing.worker.AppWorker"
    assert worker[worker.index("--url") + 1] == "${REDIS_URL}"
    cron = processes["cron"].split()
    assert cron[:2] == ["rq", "cron"] and cron[-1] == "notifications.cron"
    assert cron[cron.index("--url") + 1] == "${REDIS_URL}"


def _procfile_process(app, name: str, *extra: str, **popen):
    """Run one Procfile line as a process manager would: through sh, with the environment."""
    command = " ".join([_procfile()[name].strip(), *extra])
    env = worker_environment(app, RQ_QUEUE=app.config["RQ_QUEUE"])
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    # exec: the signal that stops it reaches the process itself, not only the shell
    return subprocess.Popen(["sh", "-c", f"exec {command}"], cwd=ROOT, env=env, **popen)


@pytest.mark.file_db
@pytest.mark.config(OUTBOX_SWEEP_AFTER_SECONDS=0)
def test_procfile_cron_and_worker_catch_up_on_mail_whose_jobs_were_lost(app, smtp, redis_url):
    from notifications.queue import get_queue

    make_ticket(user("interno"))  # enqueued, then the jobs are lost with Redis' data
    queue = get_queue()
    queue.connection.flushdb()
    cron = _procfile_process(app, "cron", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while not queue.job_ids and time.monotonic() < deadline and cron.poll() is None:
            time.sleep(0.1)
    finally:
        cron.terminate()
        _, errors = cron.communicate(timeout=30)
    jobs = [queue.fetch_job(i) for i in queue.job_ids]
    # rq cron enqueues as JSON (fetching with the JSON serializer reads it back)
    assert [j.func_name for j in jobs] == ["notifications.jobs.sweep_job"], errors.decode()
    worker = _procfile_process(
        app, "worker", "--burst", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    _, errors = worker.communicate(timeout=120)
    assert worker.returncode == 0, errors.decode(errors="replace")
    assert queue.job_ids == []  # the burst worker ran the sweep, then what it enqueued
    _assert_each_row_delivered_once(smtp)


def test_reminders_job_runs_on_a_worker_and_twice_sends_nothing_twice(app, smtp, redis_url):
    from notifications.queue import get_queue

    ticket = make_ticket(user("interno"))
    Ticket.update(due_at=now() + dt.timedelta(days=1)).where(Ticket.id == ticket.id).execute()
    stats.rebuild()  # tickets written behind the services' back
    run_worker(app)
    opened = len(smtp.messages)
    queue = get_queue()
    for _ in range(2):  # two cron processes, or the same hour twice
        queue.enqueue("notifications.reminders.reminders_job")
        run_worker(app)
    reminders = smtp.messages[opened:]
    assert len(reminders) == 3 and all(ticket.reference in m["subject"] for m in reminders)
    _assert_each_row_delivered_once(smtp)
