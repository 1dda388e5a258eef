"""Jobs: importable functions taking primitive ids, safe to run twice."""

import logging

from flask import current_app

from ticketing.models import FAILED, PENDING, SENT, Outbox, now

log = logging.getLogger("mesa.outbox")


def enqueue_delivery(outbox_id: int) -> None:
    """Put the delivery of one outbox row on RQ, once (the job id derives from the row)."""
    from rq import Retry

    from notifications.rq import get_queue

    get_queue().enqueue(
        "notifications.jobs.deliver_job",
        outbox_id,
        job_id=f"outbox-{outbox_id}",
        retry=Retry(max=3, interval=[10, 60, 300]),
        failure_ttl=7 * 24 * 3600,
    )


def deliver_job(outbox_id: int) -> None:
    """RQ entry point: deliver inside the worker's app context."""
    from notifications.rq import worker_app

    with worker_app().app_context():
        deliver(outbox_id)


def deliver(outbox_id: int) -> str:
    """Render and send one outbox row unless it was already sent; returns its status."""
    from notifications.mailer import render, send

    row = Outbox.get_or_none(Outbox.id == outbox_id)
    if row is None or row.status == SENT:
        return "missing" if row is None else SENT
    subject, text, html = render(row)
    # claim the attempt first, so a crash mid-send is counted
    Outbox.update(attempts=Outbox.attempts + 1, subject=subject[:255], body=text).where(
        Outbox.id == row.id
    ).execute()
    try:
        send(row, subject, text, html)
    except Exception as exc:
        attempts = row.attempts + 1
        status = FAILED if attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"] else PENDING
        Outbox.update(status=status, last_error=str(exc)[:2000]).where(
            Outbox.id == row.id
        ).execute()
        log.warning("outbox %s to %s failed (%s): %s", row.id, row.recipient, attempts, exc)
        if status == PENDING:
            raise
        return status
    Outbox.update(status=SENT, sent_at=now(), last_error="").where(
        (Outbox.id == row.id) & (Outbox.status != SENT)
    ).execute()
    return SENT


def sweep() -> int:
    """Re-dispatch pending rows older than the sweep delay (Redis was down, a worker died)."""
    import datetime as dt

    from notifications.dispatch import dispatch

    delay = dt.timedelta(seconds=current_app.config["OUTBOX_SWEEP_AFTER_SECONDS"])
    ids = [
        row.id
        for row in Outbox.select(Outbox.id)
        .where((Outbox.status == PENDING) & (Outbox.created_at <= now() - delay))
        .order_by(Outbox.id)
        .limit(1000)
    ]
    if ids:
        dispatch(ids)
    return len(ids)


__all__ = ["deliver", "deliver_job", "enqueue_delivery", "sweep", "PENDING"]
