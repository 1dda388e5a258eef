"""Jobs: importable functions taking primitive ids, safe to run twice."""

import datetime as dt
import logging
import time
from contextlib import contextmanager

from flask import current_app, has_app_context

from ticketing.db import CONNECTION_ERRORS, db, discard_connection, usable_connection
from ticketing.models import FAILED, PENDING, SENT, Outbox, TicketEvent, now
from ticketing.outbox import KEPT, SENDING

log = logging.getLogger("mesa.outbox")

# RQ job states in which a delivery job will still run (or is running): no second one
_LIVE_JOB_STATES = {"queued", "scheduled", "deferred", "started"}
# seconds to wait before each renewed attempt at an outbox write after a lost connection
_RECONNECT_WAITS = (0.1, 0.5, 1.5)
# how long an accepted Message-ID is remembered when its row could not be marked sent:
# longer than every retry and take-over of the row
ACCEPTED_TTL_SECONDS = 7 * 24 * 3600
# rows per batch job: a request's rows are one job; the sweeper cuts its finds into these
BATCH_SIZE = 100
BATCH_JOB = "notifications.jobs.deliver_batch_job"


def retry_intervals() -> list[int]:
    """Seconds between RQ retries of a failing send (backoff), one per retry."""
    configured = current_app.config.get("OUTBOX_RETRY_INTERVALS") or [30, 120, 600, 1800]
    retries = max(current_app.config["OUTBOX_MAX_ATTEMPTS"] - 1, 0)
    intervals = [int(s) for s in configured][:retries]
    return intervals + [intervals[-1] if intervals else 0] * (retries - len(intervals))


def job_id(outbox_id: int) -> str:
    """The RQ job id of a row's delivery: derived from the row, so it is enqueued once."""
    return f"outbox-{int(outbox_id)}"


def _stalled(queue, job, status: str, force: bool) -> bool:
    """Whether a live job of a row will not run by itself, so a fresh job must replace it.

    `force` (the row was claimed longer than the lease ago) gives up on anything but a job
    still waiting in the queue: a started job's worker died, and a retry waiting for RQ's
    scheduler may wait forever when no scheduler is alive. Without `force`, a scheduled
    retry overdue by more than the lease is stalled the same way.
    """
    if status == "queued":
        return False
    if force:
        return True
    if status != "scheduled":
        return False
    from rq.exceptions import NoSuchJobError
    from rq.registry import ScheduledJobRegistry

    try:
        due = ScheduledJobRegistry(queue=queue).get_scheduled_time(job)
    except NoSuchJobError:  # scheduled, yet in no registry: nothing will ever enqueue it
        return True
    return due < dt.datetime.now(dt.UTC) - _lease()


def _job_timeout() -> int:
    """Seconds one row's send may take: connect, and each SMTP command, at MAIL_TIMEOUT each."""
    return max(int(current_app.config.get("MAIL_TIMEOUT") or 10) * 6, 60)


def enqueue_delivery(outbox_id: int, *, force: bool = False, attempts: int = 0) -> bool:
    """Put the delivery of one outbox row on RQ unless a job for it will run anyway.

    `force` (from the sweeper: the row was claimed longer than the lease ago) replaces any
    job not waiting in the queue, whatever RQ calls it: the outbox never depends on RQ's
    scheduler being alive. `attempts` (the row failed that many times, in a batch) starts
    the job after the backoff due for its next attempt, with the retries it has left.
    Returns whether a job was enqueued.
    """
    from rq import Retry
    from rq.exceptions import NoSuchJobError
    from rq.job import Job
    from rq.registry import ScheduledJobRegistry

    from notifications.queue import get_queue

    queue = get_queue()
    try:
        job = Job.fetch(job_id(outbox_id), connection=queue.connection, serializer=queue.serializer)
        status = job.get_status()
    except NoSuchJobError:
        job, status = None, None
    status = getattr(status, "value", status)
    if status in _LIVE_JOB_STATES:
        if not _stalled(queue, job, status, force):
            return False
        # a scheduler that comes back must not enqueue the replaced retry as well
        ScheduledJobRegistry(queue=queue).remove(job_id(outbox_id))
    intervals = retry_intervals()
    done = max(int(attempts), 0)
    wait = intervals[min(done, len(intervals)) - 1] if done and intervals else 0
    later = intervals[done:]
    options = {
        "job_id": job_id(outbox_id),
        "retry": Retry(max=len(later), interval=later) if later else None,
        "job_timeout": _job_timeout(),
        "result_ttl": 24 * 3600,
        "failure_ttl": 7 * 24 * 3600,
    }
    if wait:
        queue.enqueue_in(
            dt.timedelta(seconds=wait), "notifications.jobs.deliver_job", int(outbox_id), **options
        )
    else:
        queue.enqueue("notifications.jobs.deliver_job", int(outbox_id), **options)
    return True


def enqueue_batches(outbox_ids, *, size: int = BATCH_SIZE) -> int:
    """Put these rows on RQ as batch jobs of at most `size` rows, all in one round trip.

    No per-row look-up: a row that is also being delivered by another job is sent once
    all the same (its claim). Returns how many jobs were enqueued.
    """
    from notifications.queue import get_queue

    ids = [int(i) for i in outbox_ids]
    chunks = [ids[i : i + size] for i in range(0, len(ids), max(int(size), 1))]
    if not chunks:
        return 0
    queue = get_queue()
    with queue.connection.pipeline() as pipe:
        for chunk in chunks:
            queue.enqueue(
                BATCH_JOB,
                chunk,
                # a row's send at most, plus a little for each row: a batch past it is
                # stopped, and its rows are left to the sweeper
                job_timeout=_job_timeout() + 2 * len(chunk),
                description=f"deliver_batch_job({len(chunk)} rows, {chunk[0]}…{chunk[-1]})",
                result_ttl=3600,
                failure_ttl=7 * 24 * 3600,
                pipeline=pipe,
            )
        pipe.execute()
    return len(chunks)


def live_delivery_jobs(outbox_ids) -> set[int]:
    """Rows whose own delivery job will still run (a retry, a take-over): one round trip."""
    from rq.job import Job

    from notifications.queue import get_queue

    ids = [int(i) for i in outbox_ids]
    if not ids:
        return set()
    with get_queue().connection.pipeline(transaction=False) as pipe:
        for outbox_id in ids:
            pipe.hget(Job.key_for(job_id(outbox_id)), "status")
        statuses = pipe.execute()
    return {
        outbox_id
        for outbox_id, status in zip(ids, statuses, strict=True)
        if status is not None and status.decode() in _LIVE_JOB_STATES
    }


@contextmanager
def job_context():
    """The app context a job runs in: the caller's (tests, in-process) or the worker's."""
    if has_app_context():
        yield
        return
    from notifications.queue import worker_app

    with worker_app().app_context():
        opened = db.is_closed() or not db.is_connection_usable()
        usable_connection()  # a connection an earlier job lost is replaced, not reused
        try:
            yield
        finally:
            if opened:
                discard_connection()


def deliver_job(outbox_id: int) -> str:
    """RQ entry point: deliver one row; raising makes RQ retry it with backoff."""
    with job_context():
        return deliver(outbox_id)


def deliver_batch_job(outbox_ids: list[int]) -> dict[str, int]:
    """RQ entry point: deliver a batch over one SMTP connection; a failing row never fails it."""
    with job_context():
        return deliver_batch(outbox_ids)


def sweep_job() -> int:
    """RQ entry point of the periodic sweeper: mail left behind, then webhook deliveries due."""
    from notifications.webhooks import sweep_webhooks

    with job_context():
        try:
            swept = sweep()
        finally:  # a failing mail sweep holds back no webhook
            swept_webhooks = sweep_webhooks()
        return swept + swept_webhooks


def _lease() -> dt.timedelta:
    """How long a claimed row is left alone before another deliverer may take it over."""
    return dt.timedelta(seconds=current_app.config["OUTBOX_SWEEP_AFTER_SECONDS"])


def _claim(row) -> bool:
    """Mark the row as being sent by us; False when someone else has it or it is done."""
    started = now()
    query = Outbox.update(status=SENDING, sent_at=started, attempts=Outbox.attempts + 1)
    if row.status == PENDING:
        where = (Outbox.id == row.id) & (Outbox.status == PENDING)
    elif row.status == SENDING and row.sent_at is not None and row.sent_at <= started - _lease():
        # the previous deliverer died mid-send (it never reached the end of DATA, or
        # the fixed Message-ID lets the rare duplicate be recognised)
        where = (Outbox.id == row.id) & (Outbox.status == SENDING) & (Outbox.sent_at == row.sent_at)
    else:
        return False
    return query.where(where).execute() == 1


def _persist(write):
    """Run one outbox write, reconnecting a few times when the connection was lost.

    A killed backend or a restarting server drops the connection under a deliverer; a
    fresh connection usually works at once. Inside a caller's transaction nothing can be
    reconnected: the error goes to the caller.
    """
    for wait in (*_RECONNECT_WAITS, None):
        try:
            return write()
        except CONNECTION_ERRORS:
            if wait is None or db.in_transaction():
                raise
            time.sleep(wait)
            discard_connection()  # the next statement opens a new connection


def _accepted_key(message_id: str) -> str:
    return f"mesa:sent:{message_id}"


def _accepted_store():
    """The Redis that remembers accepted Message-IDs; None without REDIS_URL."""
    if not current_app.config.get("REDIS_URL"):
        return None
    from notifications.queue import redis_connection

    return redis_connection()


def _remember_accepted(row) -> bool:
    """Note in Redis that the SMTP server took this row's message (its row could not say so)."""
    from redis.exceptions import RedisError

    store = _accepted_store()
    if store is None:
        return False
    try:
        store.set(_accepted_key(row.message_id), row.id, ex=ACCEPTED_TTL_SECONDS)
    except (RedisError, OSError) as exc:
        log.error("outbox %s: could not remember its accepted mail either: %s", row.id, exc)
        return False
    return True


def _accepted_before(row) -> bool:
    """Whether an earlier attempt's message was accepted but could not be recorded."""
    from redis.exceptions import RedisError

    if row.attempts == 0:  # never claimed: never sent
        return False
    store = _accepted_store()
    if store is None:
        return False
    try:
        return bool(store.exists(_accepted_key(row.message_id)))
    except (RedisError, OSError) as exc:  # Redis away too: the lease still guards the row
        log.warning("outbox %s: could not check for an accepted earlier attempt: %s", row.id, exc)
        return False


def _record(row, status: str, *, from_statuses=(SENDING,), rendered=None) -> int:
    """Write a row's outcome (and its rendered subject and text, when there are some)."""
    fields = {"status": status, "sent_at": now(), "last_error": ""}
    if rendered is not None:
        fields.update(subject=rendered[0][:255], body=rendered[1])
    return _persist(
        lambda: (
            Outbox.update(**fields)
            .where((Outbox.id == row.id) & Outbox.status.in_(from_statuses))
            .execute()
        )
    )


def deliver(outbox_id: int) -> str:
    """Render and send one outbox row once; returns the row's status afterwards.

    The row's status is the guard, claimed by one conditional UPDATE: a sent, kept or
    failed row is never sent again, and a row another deliverer is sending is left to it.
    A failing send raises while attempts remain (so RQ retries with backoff), then the row
    is marked failed and the failure is noted on its ticket; a lost database connection
    is never the last attempt.

    Once the SMTP server has accepted the message, nothing runs before the row is marked
    sent, and that write is retried on a fresh connection through a database blip. If the
    database stays away, the accepted Message-ID is kept in Redis (`mesa:sent:<id>`, for
    a week) and the job raises; the retry or the sweeper's take-over finds the key and
    marks the row sent without sending it again. (A deliverer killed between the server's
    250 and that write can still leave one duplicate, recognisable by its Message-ID.)
    """
    from notifications.mailer import MailSession

    row = Outbox.get_or_none(Outbox.id == outbox_id)
    if row is None:
        return "missing"
    with MailSession() as session:
        return _deliver_row(row, session)


def _deliver_row(row, session, templates: dict | None = None) -> str:
    """`deliver` for a row already read, sending through `session` (one SMTP connection)."""
    from notifications.mailer import PermanentMailError, render

    if row.status not in (PENDING, SENDING):  # sent, kept or failed: final
        return row.status
    if _accepted_before(row):
        _record(row, SENT, from_statuses=(PENDING, SENDING))
        log.info("outbox %s (%s) was accepted earlier: recorded sent", row.id, row.event)
        return Outbox.get_by_id(row.id).status
    if not _persist(lambda: _claim(row)):
        return Outbox.get_by_id(row.id).status
    attempts = row.attempts = row.attempts + 1
    rendered = None
    try:
        rendered = render(row, templates)
        sent = session.send(row, *rendered)
    except Exception as exc:
        permanent = isinstance(exc, PermanentMailError)
        lost = isinstance(exc, CONNECTION_ERRORS)  # the database's fault, not the mail's
        final = permanent or (not lost and attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"])
        error = f"{type(exc).__name__}: {exc}"[:2000]
        fields = {"status": FAILED if final else PENDING, "last_error": error}
        if rendered is not None:
            fields.update(subject=rendered[0][:255], body=rendered[1])

        def give_back():
            with db.atomic():
                Outbox.update(**fields).where(
                    (Outbox.id == row.id) & (Outbox.status == SENDING)
                ).execute()
                if final and row.ticket_id:
                    TicketEvent.create(
                        ticket=row.ticket_id,
                        kind="mail_failed",
                        public=False,
                        data={
                            "outbox": row.id,
                            "event": row.event,
                            "recipient": row.recipient,
                            "attempts": attempts,
                            "error": error[:500],
                        },
                    )

        _persist(give_back)
        log.warning(
            "outbox %s (%s) to %s failed, attempt %s%s: %s",
            row.id,
            row.event,
            row.recipient,
            attempts,
            ", giving up" if final else "",
            error,
        )
        if final:
            return FAILED
        raise
    status = SENT if sent else KEPT
    try:
        _record(row, status, rendered=rendered)
    except CONNECTION_ERRORS:
        if sent and _remember_accepted(row):
            log.error("outbox %s: accepted, not recorded; its retry will record it", row.id)
        elif sent:
            log.error("outbox %s: accepted, not recorded; a retry may send it twice", row.id)
        raise
    log.info("outbox %s (%s) %s to %s", row.id, row.event, status, row.recipient)
    return status


def _batch_rows(ids: list[int]) -> list:
    """The batch's rows in id order, each with its recipient user: two statements in all."""
    from ticketing.models import User

    rows = list(Outbox.select().where(Outbox.id.in_(ids)).order_by(Outbox.id))
    user_ids = {r.recipient_user_id for r in rows if r.recipient_user_id is not None}
    users = {u.id: u for u in User.select().where(User.id.in_(user_ids))} if user_ids else {}
    for row in rows:
        if row.recipient_user_id in users:
            row.recipient_user = users[row.recipient_user_id]
    return rows


def _hand_over(rows, reason: str) -> None:
    """Give rows a batch could not send to their own jobs: RQ retries each with backoff.

    Without Redis (or with Redis away) they stay in the outbox for the sweeper.
    """
    from redis.exceptions import RedisError

    if not rows:
        return
    if not current_app.config.get("REDIS_URL"):
        log.warning("%s outbox row(s) left for the sweeper (%s)", len(rows), reason)
        return
    for index, row in enumerate(rows):
        try:
            enqueue_delivery(row.id, attempts=row.attempts)
        except (RedisError, OSError) as exc:
            log.error(
                "Redis unavailable, %s outbox row(s) left for the sweeper: %s",
                len(rows) - index,
                exc,
            )
            return


def deliver_batch(outbox_ids) -> dict[str, int]:
    """Deliver a batch of rows over one SMTP connection, each once; counts rows per outcome.

    Every row keeps `deliver`'s guarantees: its own claim, its fixed Message-ID, the
    Redis memory of an accepted message and its recorded status. The connection is opened
    at the first message and reused (`MailSession`). A row whose send fails for now is
    given back to pending and handed to its own job (`enqueue_delivery`, with RQ's retry
    and backoff), so one bad recipient neither fails nor delays the others; a permanent
    failure is marked failed. A database that stays away stops the batch: that row and
    the ones after it are handed over alike. Nothing here raises for one row's failure.
    """
    from notifications.mailer import MailSession

    ids = sorted({int(i) for i in outbox_ids})
    counts: dict[str, int] = {}
    try:
        rows = _persist(lambda: _batch_rows(ids))
    except CONNECTION_ERRORS as exc:
        _hand_over([Outbox(id=i, attempts=0) for i in ids], f"database unavailable: {exc}")
        return {"handed over": len(ids)}
    if len(rows) < len(ids):
        counts["missing"] = len(ids) - len(rows)
    templates: dict = {}  # each event's template, looked up once per batch
    with MailSession() as session:
        for index, row in enumerate(rows):
            try:
                outcome = _deliver_row(row, session, templates)
            except CONNECTION_ERRORS as exc:
                left = rows[index:]
                _hand_over(left, f"database unavailable: {exc}")
                counts["handed over"] = counts.get("handed over", 0) + len(left)
                break
            except Exception as exc:  # given back to pending: it retries on its own
                _hand_over([row], f"{type(exc).__name__}: {exc}")
                outcome = "handed over"
            counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def sweep() -> int:
    """Re-dispatch rows left behind: pending past the delay, or claimed by a dead deliverer."""
    from notifications.dispatch import redispatch

    cutoff = now() - _lease()
    stale = (
        Outbox.select(Outbox.id, Outbox.status)
        .where(
            ((Outbox.status == PENDING) & (Outbox.created_at <= cutoff))
            | ((Outbox.status == SENDING) & (Outbox.sent_at <= cutoff))
        )
        .order_by(Outbox.id)
        .limit(1000)
    )
    rows = list(stale)
    if rows:
        redispatch(
            [r.id for r in rows if r.status == PENDING],
            taken_over=[r.id for r in rows if r.status == SENDING],
        )
    return len(rows)


def resend(actor, outbox_ids) -> int:
    """The AGQ sends failed mail again: rows back to pending, dispatched after commit."""
    from flask_babel import gettext as _

    from notifications.scope import visible_outbox
    from ticketing.errors import PermissionDenied
    from ticketing.models import AGQ
    from ticketing.outbox import unit_of_work

    if actor is None or getattr(actor, "role", None) != AGQ:
        raise PermissionDenied(_("Solo el AGQ reenvía correos."))
    ids = [int(i) for i in outbox_ids]
    with unit_of_work() as pending:
        rows = [
            r.id
            for r in visible_outbox(actor)
            .select(Outbox.id)
            .where(Outbox.id.in_(ids) & (Outbox.status == FAILED))
        ]
        if rows:
            Outbox.update(status=PENDING, attempts=0, last_error="", sent_at=None).where(
                Outbox.id.in_(rows) & (Outbox.status == FAILED)
            ).execute()
            pending.extend(rows)
    return len(rows)


__all__ = [
    "deliver",
    "deliver_batch",
    "deliver_batch_job",
    "deliver_job",
    "enqueue_batches",
    "enqueue_delivery",
    "resend",
    "sweep",
    "sweep_job",
    "KEPT",
    "PENDING",
    "SENT",
]
