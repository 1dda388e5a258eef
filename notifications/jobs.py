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


def enqueue_delivery(outbox_id: int, *, force: bool = False) -> bool:
    """Put the delivery of one outbox row on RQ unless a job for it will run anyway.

    `force` (from the sweeper: the row was claimed longer than the lease ago) replaces any
    job not waiting in the queue, whatever RQ calls it: the outbox never depends on RQ's
    scheduler being alive. Returns whether a job was enqueued.
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
    queue.enqueue(
        "notifications.jobs.deliver_job",
        int(outbox_id),
        job_id=job_id(outbox_id),
        retry=Retry(max=len(intervals), interval=intervals) if intervals else None,
        job_timeout=max(int(current_app.config.get("MAIL_TIMEOUT") or 10) * 6, 60),
        result_ttl=24 * 3600,
        failure_ttl=7 * 24 * 3600,
    )
    return True


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


def sweep_job() -> int:
    """RQ entry point of the periodic sweeper."""
    with job_context():
        return sweep()


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


def _record(row, status: str, *, from_statuses=(SENDING,)) -> int:
    return _persist(
        lambda: (
            Outbox.update(status=status, sent_at=now(), last_error="")
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
    from notifications.mailer import PermanentMailError, render, send

    row = Outbox.get_or_none(Outbox.id == outbox_id)
    if row is None:
        return "missing"
    if row.status in (PENDING, SENDING) and _accepted_before(row):
        _record(row, SENT, from_statuses=(PENDING, SENDING))
        log.info("outbox %s (%s) was accepted earlier: recorded sent", row.id, row.event)
        return Outbox.get_by_id(row.id).status
    if not _claim(row):
        return Outbox.get_by_id(row.id).status
    attempts = row.attempts + 1
    try:
        subject, text, html = render(row)
        Outbox.update(subject=subject[:255], body=text).where(Outbox.id == row.id).execute()
        sent = send(row, subject, text, html)
    except Exception as exc:
        permanent = isinstance(exc, PermanentMailError)
        lost = isinstance(exc, CONNECTION_ERRORS)  # the database's fault, not the mail's
        final = permanent or (not lost and attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"])
        error = f"{type(exc).__name__}: {exc}"[:2000]

        def give_back():
            with db.atomic():
                Outbox.update(status=FAILED if final else PENDING, last_error=error).where(
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
        _record(row, status)
    except CONNECTION_ERRORS:
        if sent and _remember_accepted(row):
            log.error("outbox %s: accepted, not recorded; its retry will record it", row.id)
        elif sent:
            log.error("outbox %s: accepted, not recorded; a retry may send it twice", row.id)
        raise
    log.info("outbox %s (%s) %s to %s", row.id, row.event, status, row.recipient)
    return status


def sweep() -> int:
    """Re-dispatch rows left behind: pending past the delay, or claimed by a dead deliverer."""
    from notifications.dispatch import dispatch

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
        dispatch(
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
    "deliver_job",
    "enqueue_delivery",
    "resend",
    "sweep",
    "sweep_job",
    "KEPT",
    "PENDING",
    "SENT",
]
