"""Handing committed outbox rows to the job runner: RQ when configured, in-process otherwise."""

import logging

from flask import current_app

log = logging.getLogger("mesa.outbox")


def dispatch(outbox_ids, taken_over=()) -> None:
    """Deliver these committed outbox rows: enqueue on RQ, or run now in-process.

    `taken_over` are rows claimed longer than the lease ago (found by the sweeper): a
    fresh job replaces theirs, whatever RQ calls it (started by a dead worker, or a retry
    waiting for a scheduler that may not be running). Redis being down loses nothing: the rows stay in the
    outbox and the sweeper enqueues them later.
    """
    from notifications.jobs import deliver, enqueue_delivery

    work = [(int(i), False) for i in outbox_ids] + [(int(i), True) for i in taken_over]
    if current_app.config.get("REDIS_URL"):
        from redis.exceptions import ConnectionError, TimeoutError

        for outbox_id, force in work:
            try:
                enqueue_delivery(outbox_id, force=force)
            except (ConnectionError, TimeoutError, OSError) as exc:
                left = len(work) - work.index((outbox_id, force))
                log.error("Redis unavailable, %s outbox row(s) left for the sweeper: %s", left, exc)
                return
            except Exception as exc:  # one bad row must not hold back the others
                log.error("could not enqueue outbox %s: %s", outbox_id, exc)
        return
    for outbox_id, _force in work:
        try:
            deliver(outbox_id)
        except Exception as exc:  # the row keeps its pending/failed state for a retry
            log.error("in-process delivery of outbox %s failed: %s", outbox_id, exc)
