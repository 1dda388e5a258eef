"""Handing committed outbox rows to the job runner: RQ when configured, in-process otherwise."""

import logging

from flask import current_app

log = logging.getLogger("mesa.outbox")


def _redis_unavailable():
    from redis.exceptions import ConnectionError, TimeoutError

    return (ConnectionError, TimeoutError, OSError)


def dispatch(outbox_ids, taken_over=()) -> None:
    """Deliver these committed outbox rows: one batch job on RQ, or at once in-process.

    The request's rows become one job (`deliver_batch_job`, cut at `BATCH_SIZE` rows),
    enqueued in one round trip on the process's pooled Redis client: nothing is looked up
    per row. `taken_over` are rows claimed longer than the lease ago: see `redispatch`.
    Redis being down loses nothing: the rows stay in the outbox and the sweeper enqueues
    them later. Without Redis the batch is delivered here, over one SMTP connection.
    """
    ids = [int(i) for i in outbox_ids]
    if current_app.config.get("REDIS_URL"):
        from notifications.jobs import enqueue_batches

        try:
            enqueue_batches(ids)
        except _redis_unavailable() as exc:
            log.error("Redis unavailable, %s outbox row(s) left for the sweeper: %s", len(ids), exc)
            return
        except Exception as exc:  # the change has committed: its request must not fail now
            log.error("could not enqueue %s outbox row(s), left for the sweeper: %s", len(ids), exc)
            return
        _take_over([int(i) for i in taken_over])
        return
    _deliver_here(ids + [int(i) for i in taken_over])


def redispatch(pending_ids, taken_over=()) -> None:
    """The sweeper's dispatch of rows left behind: in batches, except rows with a job of their own.

    A pending row whose own job will still run (a retry after a failure in a batch,
    waiting out its backoff) is left to that job, or replaced when it stalled
    (`enqueue_delivery`); the others go in batch jobs. `taken_over` rows were claimed
    longer than the lease ago (by a dead deliverer): each gets a fresh job of its own that
    replaces theirs, whatever RQ calls it (started by a dead worker, or a retry waiting
    for a scheduler that may not be running).
    """
    pending = [int(i) for i in pending_ids]
    forced = [int(i) for i in taken_over]
    if not current_app.config.get("REDIS_URL"):
        _deliver_here(pending + forced)
        return
    from notifications.jobs import enqueue_batches, enqueue_delivery, live_delivery_jobs

    try:
        retrying = live_delivery_jobs(pending)
        enqueue_batches([i for i in pending if i not in retrying])
        for outbox_id in sorted(retrying):
            enqueue_delivery(outbox_id)
    except _redis_unavailable() as exc:
        log.error("Redis unavailable, %s outbox row(s) left for the sweeper: %s", len(pending), exc)
        return
    except Exception as exc:
        log.error("could not enqueue %s outbox row(s): %s", len(pending), exc)
    _take_over(forced)


def _take_over(outbox_ids) -> None:
    """A fresh job for each row a dead deliverer claimed; one bad row holds back no other."""
    from notifications.jobs import enqueue_delivery

    for index, outbox_id in enumerate(outbox_ids):
        try:
            enqueue_delivery(outbox_id, force=True)
        except _redis_unavailable() as exc:
            left = len(outbox_ids) - index
            log.error("Redis unavailable, %s outbox row(s) left for the sweeper: %s", left, exc)
            return
        except Exception as exc:
            log.error("could not enqueue outbox %s: %s", outbox_id, exc)


def _deliver_here(outbox_ids) -> None:
    """In-process delivery (no Redis): batches over one SMTP connection each."""
    from notifications.jobs import BATCH_SIZE, deliver_batch

    for start in range(0, len(outbox_ids), BATCH_SIZE):
        chunk = outbox_ids[start : start + BATCH_SIZE]
        try:
            deliver_batch(chunk)
        except Exception as exc:  # the rows keep their pending/failed state for a retry
            log.error("in-process delivery of outbox %s failed: %s", chunk, exc)
