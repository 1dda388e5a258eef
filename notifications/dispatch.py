"""Handing committed outbox rows to the job runner: RQ when configured, in-process otherwise."""

import logging

from flask import current_app

log = logging.getLogger("mesa.outbox")


def dispatch(outbox_ids: list[int]) -> None:
    """Deliver these committed outbox rows: enqueue on RQ, or run now in-process."""
    from notifications.jobs import deliver, enqueue_delivery

    if current_app.config.get("REDIS_URL"):
        for outbox_id in outbox_ids:
            try:
                enqueue_delivery(outbox_id)
            except Exception as exc:  # Redis down: the row stays pending for the sweeper
                log.error("could not enqueue outbox %s: %s", outbox_id, exc)
        return
    for outbox_id in outbox_ids:
        try:
            deliver(outbox_id)
        except Exception as exc:  # the row keeps its pending/failed state for a retry
            log.error("in-process delivery of outbox %s failed: %s", outbox_id, exc)
