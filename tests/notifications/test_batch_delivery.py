"""Batch delivery: a request's rows are one job, sent over one SMTP connection, each once."""

import asyncio
import socket
import threading
import time

import pytest
from redis import Redis

from notifications.jobs import (
    BATCH_JOB,
    deliver_batch,
    enqueue_batches,
    enqueue_delivery,
    sweep,
)
from tests.conftest import make_ticket, user
from tests.notifications.conftest import Mailbox, SMTPServer, at_once, run_worker
from ticketing.db import count_queries, db
from ticketing.models import FAILED, PENDING, SENT, Outbox, TicketEvent, now
from ticketing.outbox import DISPATCH, SENDING, queue_mail

PEOPLE = ("interno", "focal", "aiq", "agq", "interno_b", "focal_b", "aiq_b")


class Sink(Mailbox):
    """The test server's handler, which also tells the SMTP sessions apart.

    `refuse` maps an address to the reply its RCPT gets; `per_session` makes the server
    hang up after that many messages on one connection (a relay's per-connection limit).
    """

    def __init__(self):
        super().__init__()
        self.sessions: list = []  # every SMTP session that began a mail transaction
        self.refuse: dict[str, str] = {}
        self.per_session: int | None = None
        self._closing: set[int] = set()

    def session_number(self, session) -> int:
        for number, known in enumerate(self.sessions):
            if known is session:
                return number
        self.sessions.append(session)
        return len(self.sessions) - 1

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.session_number(session) in self._closing:  # the client was quicker than the close
            server.transport.close()
            return "421 4.7.0 too many messages on this connection"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        return await super().handle_RCPT(server, session, envelope, address, rcpt_options)

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)
        number = self.session_number(session)
        self.messages[-1]["session"] = number
        carried = sum(1 for m in self.messages if m["session"] == number)
        if self.per_session is not None and carried >= self.per_session:
            self._closing.add(number)
            asyncio.get_running_loop().call_soon(server.transport.close)  # after the 250
        return reply


@pytest.fixture
def smtp():
    """This module's SMTP server: a real aiosmtpd on a free port, with the `Sink` handler."""
    server = SMTPServer()
    server.mailbox = Sink()
    server.start()
    yield server
    server.mailbox.release.set()
    server.stop()


def _write_rows(people, ticket=None) -> list[int]:
    """Committed outbox rows for these people, not yet dispatched (what a change leaves)."""
    context = {"actor": "Mesa", "comment": "Revisamos su caso.", "url": "http://mesa.test/t/1"}
    if ticket is not None:
        context.update(reference=ticket.reference, title=ticket.title)
    with db.atomic():
        rows = [
            queue_mail("comment_public", person, ticket=ticket, context=context)
            for person in people
        ]
    return [row.id for row in rows]


def _people(n: int) -> list:
    accounts = [user(key) for key in PEOPLE]
    return [accounts[i % len(accounts)] for i in range(n)]


def _delivered_once(smtp, ids) -> list[dict]:
    """The messages of these rows: each row sent, and received exactly once, to its recipient."""
    rows = list(Outbox.select().where(Outbox.id.in_(ids)).order_by(Outbox.id))
    assert len(rows) == len(ids)
    by_id = {row.message_id: row for row in rows}
    received = [m for m in smtp.messages if m["message_id"] in by_id]
    assert sorted(m["message_id"] for m in received) == sorted(by_id), "lost or duplicated"
    for message in received:
        row = by_id[message["message_id"]]
        assert row.status == SENT, (row.id, row.status, row.last_error)
        assert message["to"] == [row.recipient]
    return received


def test_a_batch_goes_over_one_smtp_connection_each_message_once(app, smtp, redis_url):
    ids = _write_rows(_people(12), make_ticket(user("interno")))
    run_worker(app)  # the ticket's own rows
    earlier = len(smtp.mailbox.sessions)
    app.extensions[DISPATCH](ids)
    run_worker(app)
    received = _delivered_once(smtp, ids)
    assert {m["session"] for m in received} == {earlier}, "one connection for the whole batch"
    assert len(smtp.mailbox.sessions) == earlier + 1
    assert all(r.attempts == 1 and r.subject for r in Outbox.select().where(Outbox.id.in_(ids)))


def test_a_batch_costs_two_statements_per_row(app, smtp):
    ids = _write_rows(_people(12))
    with count_queries() as statements:
        assert deliver_batch(ids) == {SENT: 12}
    # the rows and their users, one template look-up, then each row's claim and record
    assert len(statements) <= 2 * len(ids) + 3, statements
    _delivered_once(smtp, ids)
    assert len(smtp.mailbox.sessions) == 1


def test_a_dispatch_of_k_rows_enqueues_one_job_in_one_pipeline(app, redis_url):
    from notifications.queue import get_queue

    ids = _write_rows(_people(9))
    database = get_queue().connection.connection_pool.connection_kwargs.get("db", 0)
    observer = Redis.from_url(redis_url)
    with observer.monitor() as monitor:
        app.extensions[DISPATCH](ids)
        observer.echo("end of dispatch")
        commands = []
        while True:
            seen = monitor.next_command()
            if seen["command"] == "ECHO end of dispatch":
                break
            if int(seen["db"]) == int(database):
                commands.append(seen["command"])
    observer.close()
    names = [command.split()[0].upper() for command in commands]
    assert names.count("MULTI") == names.count("EXEC") == 1, names
    begin, end = names.index("MULTI"), names.index("EXEC")
    outside = names[:begin] + names[end + 1 :]
    # at most a pooled connection's set-up and the server version, once per process
    assert set(outside) <= {"SELECT", "CLIENT", "HELLO", "AUTH", "INFO"}, commands
    assert not [c for c in commands if "rq:job:outbox-" in c], "a row was looked up"
    [job] = get_queue().get_jobs()
    assert job.func_name == BATCH_JOB and list(job.args) == [ids]


def test_one_redis_client_serves_every_dispatch_of_a_process(app, redis_server):
    from notifications.queue import get_queue, redis_connection

    app.config["REDIS_URL"] = redis_server.url
    assert redis_connection() is redis_connection() is get_queue().connection
    counter = Redis.from_url(redis_server.url)
    before = counter.info("stats")["total_connections_received"]
    for person in _people(20):
        app.extensions[DISPATCH](_write_rows([person]))
    after = counter.info("stats")["total_connections_received"]
    counter.close()
    assert after - before <= 1, "a dispatch opened a connection of its own"
    assert len(get_queue().get_jobs()) == 20


@pytest.mark.config(OUTBOX_RETRY_INTERVALS=[1], OUTBOX_MAX_ATTEMPTS=3)
def test_a_refused_and_a_deferred_recipient_hold_back_no_other(app, smtp, redis_url):
    from notifications.queue import get_queue

    ticket = make_ticket(user("interno"))
    run_worker(app)
    refused, deferred = user("focal"), user("aiq")
    smtp.mailbox.refuse = {
        refused.email: "550 5.1.1 no existe ese buzón",
        deferred.email: "451 4.3.0 intente más tarde",
    }
    ids = _write_rows(_people(7), ticket)
    earlier = len(smtp.mailbox.sessions)
    told = len(smtp.mailbox.to(refused.email))  # the ticket's opening, before the refusal
    app.extensions[DISPATCH](ids)
    run_worker(app)  # the batch only: the deferred row's own job waits out its backoff

    rows = {row.recipient: row for row in Outbox.select().where(Outbox.id.in_(ids))}
    bounced = rows[refused.email]
    assert bounced.status == FAILED and bounced.attempts == 1 and "550" in bounced.last_error
    [note] = TicketEvent.select().where(
        (TicketEvent.ticket == ticket.id) & (TicketEvent.kind == "mail_failed")
    )
    assert note.data["recipient"] == refused.email
    waiting = rows[deferred.email]
    assert waiting.status == PENDING and waiting.attempts == 1 and "451" in waiting.last_error
    job = get_queue().fetch_job(f"outbox-{waiting.id}")
    assert job.get_status() == "scheduled" and job.retries_left == 1
    others = [i for i in ids if i not in (bounced.id, waiting.id)]
    received = _delivered_once(smtp, others)
    assert {m["session"] for m in received} == {earlier}  # the refusals kept the connection

    smtp.mailbox.refuse.pop(deferred.email)
    time.sleep(1.5)  # the first retry interval
    run_worker(app, scheduler=True)
    _delivered_once(smtp, [*others, waiting.id])
    assert Outbox.get_by_id(waiting.id).attempts == 2
    assert len(smtp.mailbox.to(refused.email)) == told
    assert Outbox.get_by_id(bounced.id).status == FAILED


@pytest.mark.config(OUTBOX_SWEEP_AFTER_SECONDS=0)
def test_in_process_a_deferred_recipient_is_left_for_the_sweeper(app, smtp):
    deferred = user("aiq")
    smtp.mailbox.refuse = {deferred.email: "451 4.3.0 intente más tarde"}
    ids = _write_rows(_people(7))
    app.extensions[DISPATCH](ids)  # no Redis: delivered here, after commit
    waiting = Outbox.get(Outbox.recipient == deferred.email)
    assert waiting.status == PENDING and waiting.attempts == 1
    others = [i for i in ids if i != waiting.id]
    assert {m["session"] for m in _delivered_once(smtp, others)} == {0}
    smtp.mailbox.refuse.clear()
    assert sweep() == 1
    _delivered_once(smtp, ids)


def test_running_the_same_batch_twice_sends_nothing_twice(app, smtp, redis_url):
    ids = _write_rows(_people(8))
    assert enqueue_batches(ids) == 1
    assert enqueue_batches(ids) == 1  # RQ may run a job twice, a sweeper may dispatch again
    run_worker(app)
    _delivered_once(smtp, ids)
    assert deliver_batch(ids) == {SENT: 8}
    assert len(smtp.messages) == 8


@pytest.mark.file_db
def test_two_deliverers_of_the_same_batch_at_once_send_each_row_once(app, smtp):
    ids = _write_rows(_people(10))
    barrier = threading.Barrier(2)

    def deliverer():
        barrier.wait(30)
        return deliver_batch(ids)

    at_once(app, deliverer)
    _delivered_once(smtp, ids)
    assert len(smtp.messages) == 10


def test_a_server_hanging_up_mid_batch_still_gets_every_message_once(app, smtp, redis_url):
    smtp.mailbox.per_session = 3  # the relay closes each connection after its 3rd message
    ids = _write_rows(_people(8))
    app.extensions[DISPATCH](ids)
    run_worker(app)
    received = _delivered_once(smtp, ids)
    assert len(smtp.mailbox.sessions) == 3  # 3 + 3 + 2: one reconnection per hang-up
    assert [m["session"] for m in received] == [0, 0, 0, 1, 1, 1, 2, 2]
    rows = Outbox.select().where(Outbox.id.in_(ids))
    assert all(r.attempts == 1 and r.last_error == "" for r in rows)  # a hang-up is no failure


@pytest.mark.config(MAIL_TIMEOUT=1)
def test_a_silent_server_is_waited_for_once_per_batch(app, redis_url):
    from notifications.queue import get_queue

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)  # takes connections into its backlog, never says a word
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=listener.getsockname()[1])
    try:
        ids = _write_rows(_people(6))
        counts = deliver_batch(ids)
        listener.setblocking(False)
        attempts = 0
        while True:
            try:
                connection, _ = listener.accept()
            except BlockingIOError:
                break
            connection.close()
            attempts += 1
    finally:
        listener.close()
    assert attempts == 1, "each row waited out the timeout again"
    assert counts == {"handed over": 6}
    queue = get_queue()
    for row in Outbox.select().where(Outbox.id.in_(ids)):
        assert row.status == PENDING and row.attempts == 1 and "timed out" in row.last_error
        job = queue.fetch_job(f"outbox-{row.id}")  # each retries on its own, after a backoff
        assert job.get_status() == "scheduled"
        assert job.retries_left == app.config["OUTBOX_MAX_ATTEMPTS"] - 2


@pytest.mark.config(OUTBOX_SWEEP_AFTER_SECONDS=0)
def test_the_sweeper_dispatches_in_batches_and_leaves_a_retrying_row_to_its_job(
    app, smtp, redis_url
):
    from notifications.queue import get_queue

    ids = _write_rows(_people(6))
    retrying, taken_over, rest = ids[0], ids[1], ids[2:]
    Outbox.update(attempts=1).where(Outbox.id == retrying).execute()
    assert enqueue_delivery(retrying, attempts=1)  # failed once in a batch: waits 30 s
    Outbox.update(status=SENDING, attempts=1, sent_at=now().replace(year=2000)).where(
        Outbox.id == taken_over
    ).execute()  # claimed by a deliverer that died
    assert sweep() == 6
    queue = get_queue()
    jobs = {job.id: job for job in queue.get_jobs()}
    [batch] = [job for job in jobs.values() if job.func_name == BATCH_JOB]
    assert list(batch.args) == [rest]
    assert f"outbox-{taken_over}" in jobs  # its own fresh job
    assert queue.fetch_job(f"outbox-{retrying}").get_status() == "scheduled"  # left alone
    run_worker(app)
    _delivered_once(smtp, [taken_over, *rest])
    assert Outbox.get_by_id(retrying).status == PENDING

    queue.empty()
    assert enqueue_batches(rest, size=3) == 2
    assert [list(job.args) for job in queue.get_jobs()] == [[rest[:3]], [rest[3:]]]
