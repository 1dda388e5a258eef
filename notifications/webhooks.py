"""Webhook delivery: a signed JSON POST per delivery row, claimed once, retried with backoff.

After commit, `dispatch_webhooks` enqueues one RQ job per delivery (by name, JSON
serializer, job id derived from the row) or, without REDIS_URL, delivers in-process.
`deliver_webhook` claims the row (one UPDATE that only one deliverer can win), POSTs it
and records the outcome; a failure puts it back to pending with `next_attempt_at` after
an exponential backoff. `sweep_webhooks` re-dispatches what is due, every minute (the
outbox's `sweep_job`, which `notifications.cron` schedules, runs it too), so a dead Redis
or a dead receiver loses nothing. After WEBHOOK_MAX_ATTEMPTS the row is failed; the AGQ
may send it again from the admin.

The request: `Content-Type: application/json`, `X-Mesa-Event`, `X-Mesa-Delivery` (the
event id: receivers deduplicate by it), `X-Mesa-Timestamp` (unix seconds) and
`X-Mesa-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. Redirects are
never followed (a 3xx fails the delivery at once), each socket operation has
WEBHOOK_TIMEOUT seconds, and a receiver's answer is reduced to its status code: its body
is never read or shown.
"""

import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import socket
import ssl
import time
from urllib.parse import urlsplit

from flask import current_app

from ticketing.models import WebhookDelivery, WebhookEndpoint, now
from ticketing.models.webhooks import (
    WEBHOOK_FAILED,
    WEBHOOK_PENDING,
    WEBHOOK_SENDING,
    WEBHOOK_SENT,
)
from ticketing.services.webhooks import url_refusal

log = logging.getLogger("mesa.webhooks")

JOB = "notifications.webhooks.deliver_webhook_job"
BACKOFF_BASE_SECONDS = 30  # the wait after the first failure; doubled after each next one
BACKOFF_MAX_SECONDS = 6 * 3600
USER_AGENT = "Mesa-Webhooks/1"
SWEEP_LIMIT = 500  # deliveries re-dispatched per sweep
REDIRECT_PREFIX = "redirect not followed: HTTP "


def job_id(delivery_id: int) -> str:
    """The RQ job id of a delivery: derived from the row."""
    return f"webhook-{int(delivery_id)}"


def backoff(attempts: int) -> dt.timedelta:
    """The wait before the next attempt of a delivery that failed `attempts` times."""
    seconds = BACKOFF_BASE_SECONDS * 2 ** max(int(attempts) - 1, 0)
    return dt.timedelta(seconds=min(seconds, BACKOFF_MAX_SECONDS))


def _lease() -> dt.timedelta:
    """How long a claimed delivery is left alone before another deliverer may take it over."""
    return dt.timedelta(seconds=int(current_app.config["WEBHOOK_TIMEOUT"]) * 4 + 30)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Mesa-Signature of `body` sent at `timestamp`."""
    message = f"{int(timestamp)}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- dispatch


def dispatch_webhooks(delivery_ids) -> None:
    """After commit: one RQ job per delivery, or delivered here without REDIS_URL.

    Redis being down loses nothing: the rows stay pending for the sweeper.
    """
    ids = [int(i) for i in delivery_ids]
    if not ids:
        return
    if not current_app.config.get("REDIS_URL"):
        for delivery_id in ids:
            try:
                deliver_webhook(delivery_id)
            except Exception as exc:  # the change has committed: its request must not fail now
                log.error("webhook delivery %s failed in-process: %s", delivery_id, exc)
        return
    try:
        _enqueue(ids)
    except Exception as exc:
        log.error(
            "could not enqueue %s webhook delivery(ies), left for the sweeper: %s", len(ids), exc
        )


def _enqueue(ids) -> None:
    from notifications.queue import get_queue

    queue = get_queue()
    timeout = int(current_app.config["WEBHOOK_TIMEOUT"]) * 4 + 10
    with queue.connection.pipeline() as pipe:
        for delivery_id in ids:
            queue.enqueue(
                JOB,
                int(delivery_id),
                job_id=job_id(delivery_id),
                job_timeout=timeout,
                result_ttl=3600,
                failure_ttl=7 * 24 * 3600,
                pipeline=pipe,
            )
        pipe.execute()


def deliver_webhook_job(delivery_id: int) -> str:
    """RQ entry point: deliver one webhook; its own backoff, never RQ's retry."""
    from notifications.jobs import job_context

    with job_context():
        return deliver_webhook(delivery_id)


def sweep_webhooks_job() -> int:
    """RQ entry point of the webhook sweeper."""
    from notifications.jobs import job_context

    with job_context():
        return sweep_webhooks()


def sweep_webhooks(at: dt.datetime | None = None) -> int:
    """Re-dispatch deliveries that are due: pending past `next_attempt_at`, or claimed by a
    deliverer that died (claimed longer than the lease ago). Returns how many."""
    at = at or now()
    stale = at - _lease()
    rows = [
        d.id
        for d in WebhookDelivery.select(WebhookDelivery.id)
        .where(
            (
                (WebhookDelivery.status == WEBHOOK_PENDING)
                & (
                    WebhookDelivery.next_attempt_at.is_null()
                    | (WebhookDelivery.next_attempt_at <= at)
                )
            )
            | ((WebhookDelivery.status == WEBHOOK_SENDING) & (WebhookDelivery.claimed_at <= stale))
        )
        .order_by(WebhookDelivery.id)
        .limit(SWEEP_LIMIT)
    ]
    if rows:
        dispatch_webhooks(rows)
    return len(rows)


# ---------------------------------------------------------------- delivery


def _claim(delivery_id: int) -> dt.datetime | None:
    """Take the delivery for this attempt; None when another deliverer has it or it is done.

    One UPDATE decides: a pending row, or one claimed longer than the lease ago.
    """
    started = now()
    won = (
        WebhookDelivery.update(
            status=WEBHOOK_SENDING, claimed_at=started, attempts=WebhookDelivery.attempts + 1
        )
        .where(
            (WebhookDelivery.id == delivery_id)
            & (
                (WebhookDelivery.status == WEBHOOK_PENDING)
                | (
                    (WebhookDelivery.status == WEBHOOK_SENDING)
                    & (WebhookDelivery.claimed_at <= started - _lease())
                )
            )
        )
        .execute()
    )
    return started if won == 1 else None


def _finish(delivery_id: int, claimed_at, **values) -> None:
    """Record an attempt's outcome, if the claim is still ours."""
    WebhookDelivery.update(**values).where(
        (WebhookDelivery.id == delivery_id)
        & (WebhookDelivery.status == WEBHOOK_SENDING)
        & (WebhookDelivery.claimed_at == claimed_at)
    ).execute()


def deliver_webhook(delivery_id: int) -> str:
    """Deliver one webhook once: claim, POST, record. Safe to run twice, or at once twice."""
    claimed_at = _claim(int(delivery_id))
    if claimed_at is None:
        return "not claimed"
    delivery = WebhookDelivery.get_by_id(int(delivery_id))
    endpoint = WebhookEndpoint.get_or_none(WebhookEndpoint.id == delivery.endpoint_id)
    if endpoint is None or not endpoint.active:
        _finish(delivery.id, claimed_at, status=WEBHOOK_FAILED, last_error="endpoint inactive")
        return "failed"
    refusal = url_refusal(endpoint.url)
    if refusal:
        _finish(delivery.id, claimed_at, status=WEBHOOK_FAILED, last_error="URL refused")
        return "failed"
    error = post(endpoint, delivery)
    if error is None:
        _finish(delivery.id, claimed_at, status=WEBHOOK_SENT, sent_at=now(), last_error="")
        return "sent"
    # a redirect is not followed, now or later: retrying would meet it again
    final = error.startswith(REDIRECT_PREFIX)
    if final or delivery.attempts >= int(current_app.config["WEBHOOK_MAX_ATTEMPTS"]):
        _finish(delivery.id, claimed_at, status=WEBHOOK_FAILED, last_error=error)
        log.warning("webhook delivery %s failed for good: %s", delivery.id, error)
        return "failed"
    _finish(
        delivery.id,
        claimed_at,
        status=WEBHOOK_PENDING,
        last_error=error,
        next_attempt_at=now() + backoff(delivery.attempts),
    )
    log.info("webhook delivery %s will be retried: %s", delivery.id, error)
    return "retry"


def post(endpoint, delivery) -> str | None:
    """POST the delivery to its endpoint; None on a 2xx, else a short reason (no body)."""
    body = json.dumps(delivery.payload, ensure_ascii=False, sort_keys=True).encode()
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Mesa-Event": delivery.event,
        "X-Mesa-Delivery": delivery.event_id,
        "X-Mesa-Timestamp": str(timestamp),
        "X-Mesa-Signature": sign(endpoint.secret, timestamp, body),
    }
    parts = urlsplit(endpoint.url.strip())
    timeout = float(current_app.config["WEBHOOK_TIMEOUT"])
    if parts.scheme.lower() == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers=headers)
        status = connection.getresponse().status  # the body is never read
    except TimeoutError:
        return "timeout"
    except ConnectionRefusedError:
        return "connection refused"
    except ssl.SSLError:
        return "TLS error"
    except socket.gaierror:
        return "host not found"
    except (http.client.HTTPException, OSError) as exc:
        return f"connection error ({type(exc).__name__})"
    finally:
        connection.close()
    if 200 <= status < 300:
        return None
    if 300 <= status < 400:
        return f"{REDIRECT_PREFIX}{status}"
    return f"HTTP {status}"
