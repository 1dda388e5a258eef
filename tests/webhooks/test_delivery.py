"""Webhook delivery end to end: a real receiver on a loopback port verifies each signature;
it goes down, comes back, and still gets every event exactly once."""

import datetime as dt

import pytest

from notifications.webhooks import deliver_webhook, sweep_webhooks
from tests.conftest import make_ticket, user
from tests.webhooks.conftest import Receiver, at_once, run_worker
from ticketing import services
from ticketing.models import Ticket, WebhookDelivery, WebhookEndpoint, now
from ticketing.services.webhooks import create_endpoint

pytestmark = pytest.mark.config(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_TIMEOUT=2)


def register(receiver, **options):
    endpoint = create_endpoint(user("agq"), url=receiver.url, **options)
    receiver.secret = endpoint.secret
    return endpoint


def escalated_ticket(title="No firma el documento"):
    """The escalation an institution opens in SGE's queue: what SGE's systems hear of."""
    ticket = make_ticket(user("interno"), title=title)
    services.transition(user("aiq"), ticket.id, "escalar", comment="Lo revisa SGE.")
    return Ticket.get(Ticket.parent == ticket.id)


def event_ids() -> list[str]:
    return sorted(d.event_id for d in WebhookDelivery.select())


def later():
    """A moment past every backoff: the sweeper finds every retry due."""
    return now() + dt.timedelta(days=2)


def test_each_event_arrives_signed_with_its_payload(app, receiver):
    register(receiver)
    ticket = escalated_ticket()
    services.add_comment(user("agq"), ticket.id, "Revisamos el certificado.")
    deliveries = list(WebhookDelivery.select().order_by(WebhookDelivery.id))
    assert {d.event for d in deliveries} == {"ticket_opened_queue", "comment_public"}
    assert all(d.status == "sent" and d.attempts == 1 and d.sent_at for d in deliveries)
    assert len(receiver.requests) == len(deliveries)
    assert all(r["verified"] for r in receiver.requests)
    assert sorted(receiver.events) == event_ids()
    opened = next(r for r in receiver.requests if r["json"]["event"] == "ticket_opened_queue")
    headers, payload = opened["headers"], opened["json"]
    assert opened["path"] == "/hooks/mesa"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Mesa-Event"] == "ticket_opened_queue"
    assert headers["X-Mesa-Delivery"] == payload["id"]
    ticket = Ticket.get_by_id(ticket.id)
    assert payload["ticket"] == {
        "id": ticket.id,
        "reference": ticket.reference,
        "title": ticket.title,
        "type": "escalamiento-sge",
        "state": ticket.state,
        "institution": "INSTA",
        "queue_level": 2,
        "url": f"http://mesa.test/ticket/{ticket.id}/",
    }
    assert "No firma el documento" in ticket.title
    assert payload["actor"] == {"id": user("aiq").id, "name": user("aiq").full_name}
    assert payload["internal"] is False
    dt.datetime.fromisoformat(payload["occurred_at"])
    comment = next(r for r in receiver.requests if r["json"]["event"] == "comment_public")
    assert comment["json"]["data"]["comment"] == "Revisamos el certificado."
    assert comment["json"]["actor"]["id"] == user("agq").id


def test_an_internal_note_is_delivered_flagged_internal(app, receiver):
    """SGE's systems are the AGQ's: the AGQ reads internal notes, flagged as such."""
    register(receiver, events=["comment_internal"])
    ticket = escalated_ticket()
    services.add_comment(user("agq"), ticket.id, "Solo para SGE", internal=True)
    (request,) = receiver.requests
    assert request["json"]["internal"] is True
    assert request["json"]["data"]["comment"] == "Solo para SGE"


def test_a_wrong_secret_is_refused_by_the_receiver_and_retried(app, receiver):
    register(receiver)
    receiver.secret = "not-the-secret"
    escalated_ticket()
    assert receiver.requests and not any(r["verified"] for r in receiver.requests)
    assert receiver.events == []
    rows = list(WebhookDelivery.select())
    assert all(d.status == "pending" and d.last_error == "HTTP 401" for d in rows)
    assert all(d.next_attempt_at > now() for d in rows)  # backoff, not at once


def test_receiver_down_then_back_gets_each_event_exactly_once(app, redis_url, receiver):
    """The 'done when' of the issue, through Redis and RQ jobs."""
    endpoint = register(receiver)
    receiver.stop()  # the port is closed: connection refused
    first = escalated_ticket("Primero")
    run_worker(app)
    services.add_comment(user("agq"), first.id, "SGE lo revisa")
    second = escalated_ticket("Segundo")
    run_worker(app)
    rows = list(WebhookDelivery.select())
    assert len(rows) == 3
    assert all(d.status == "pending" and d.attempts == 1 for d in rows)
    assert {d.last_error for d in rows} == {"connection refused"}
    assert sweep_webhooks() == 0  # none due yet: each waits out its backoff
    # still down at the first retry: the second attempt fails too, and waits longer
    assert sweep_webhooks(at=now() + dt.timedelta(seconds=31)) == len(rows)
    run_worker(app)
    retried = list(WebhookDelivery.select())
    assert all(d.status == "pending" and d.attempts == 2 for d in retried)
    assert all(d.next_attempt_at > now() + dt.timedelta(seconds=45) for d in retried)
    receiver.start()
    assert sweep_webhooks(at=later()) == len(rows)
    run_worker(app)
    assert {d.status for d in WebhookDelivery.select()} == {"sent"}
    # a sweeper or a job that runs again sends nothing twice
    assert sweep_webhooks(at=later()) == 0
    for d in WebhookDelivery.select():
        assert deliver_webhook(d.id) == "not claimed"
    run_worker(app)
    assert sorted(receiver.events) == event_ids()
    assert len(set(receiver.events)) == len(receiver.events) == len(rows)
    assert all(r["verified"] for r in receiver.requests)
    tickets = {r["json"]["ticket"]["id"] for r in receiver.requests}
    assert tickets == {first.id, second.id}
    assert endpoint.id == WebhookEndpoint.get().id


def test_redis_down_loses_nothing(app, redis_server, receiver):
    """Enqueueing fails after commit: the change stands and the sweeper delivers later."""
    app.config["REDIS_URL"] = redis_server.url
    register(receiver)
    redis_server.stop()
    ticket = escalated_ticket()
    assert ticket.id
    assert {d.status for d in WebhookDelivery.select()} == {"pending"}
    assert receiver.events == []
    app.config["REDIS_URL"] = None  # the sweeper's process, here without Redis: in-process
    assert sweep_webhooks(at=later()) == WebhookDelivery.select().count()
    assert sorted(receiver.events) == event_ids()


@pytest.mark.file_db
def test_two_deliverers_at_once_post_once(app, receiver):
    register(receiver)
    receiver.stop()
    escalated_ticket()
    receiver.start()
    receiver.delay = 0.5  # the first deliverer is mid-request while the second tries
    rows = [d.id for d in WebhookDelivery.select()]
    for delivery_id in rows:
        outcomes = at_once(app, lambda i=delivery_id: deliver_webhook(i), n=2)
        assert sorted(outcomes) == ["not claimed", "sent"]
    for delivery_id in rows:  # and once more, in a row
        assert deliver_webhook(delivery_id) == "not claimed"
    assert sorted(receiver.events) == event_ids()
    assert len(receiver.requests) == len(rows)


def test_a_claim_left_by_a_dead_deliverer_is_taken_over_after_the_lease(app, receiver):
    register(receiver)
    receiver.stop()
    escalated_ticket()
    receiver.start()
    row = WebhookDelivery.select().first()
    WebhookDelivery.update(status="sending", claimed_at=now()).where(
        WebhookDelivery.id == row.id
    ).execute()
    assert deliver_webhook(row.id) == "not claimed"  # someone is on it
    WebhookDelivery.update(claimed_at=now() - dt.timedelta(hours=1)).where(
        WebhookDelivery.id == row.id
    ).execute()
    assert sweep_webhooks(at=later()) >= 1
    assert WebhookDelivery.get_by_id(row.id).status == "sent"
    assert receiver.events.count(row.event_id) == 1


def test_a_redirect_is_not_followed(app, receiver):
    elsewhere = Receiver().start()
    try:
        register(receiver)
        receiver.answer = (302, {"Location": elsewhere.url})
        escalated_ticket()
        assert elsewhere.requests == []
        rows = list(WebhookDelivery.select())
        assert rows and all(d.status == "failed" and d.attempts == 1 for d in rows)
        assert all(d.last_error == "redirect not followed: HTTP 302" for d in rows)
        assert sweep_webhooks(at=later()) == 0  # failed is final until sent again
    finally:
        elsewhere.stop()


def test_attempts_run_out_then_the_delivery_fails(app, receiver):
    app.config["WEBHOOK_MAX_ATTEMPTS"] = 3
    register(receiver, events=["ticket_opened_queue"])
    receiver.answer = (503, {})
    escalated_ticket()
    row = WebhookDelivery.get()
    for _ in range(5):
        sweep_webhooks(at=later())
    row = WebhookDelivery.get_by_id(row.id)
    assert (row.status, row.attempts, row.last_error) == ("failed", 3, "HTTP 503")
    assert len(receiver.requests) == 3


def test_a_url_refused_at_delivery_time_is_not_contacted(app, receiver):
    """The rule is checked again at each delivery: the setting may have changed."""
    register(receiver)
    app.config["WEBHOOK_ALLOW_HTTP"] = False
    escalated_ticket()
    assert receiver.requests == []
    rows = list(WebhookDelivery.select())
    assert rows and {(d.status, d.last_error) for d in rows} == {("failed", "URL refused")}


def test_a_timeout_is_reported_as_such(app, receiver):
    app.config["WEBHOOK_TIMEOUT"] = 1
    register(receiver, events=["ticket_opened_queue"])
    receiver.delay = 2.5
    escalated_ticket()
    row = WebhookDelivery.get()
    assert (row.status, row.last_error) == ("pending", "timeout")


def test_the_periodic_sweeper_runs_as_an_rq_job(app, redis_url, receiver):
    """The outbox sweep `rq cron notifications.cron` enqueues every minute sweeps webhooks too."""
    from notifications.queue import get_queue

    register(receiver)
    receiver.stop()
    escalated_ticket()
    run_worker(app)
    assert {d.status for d in WebhookDelivery.select()} == {"pending"}
    receiver.start()
    WebhookDelivery.update(next_attempt_at=now() - dt.timedelta(minutes=1)).execute()
    get_queue().enqueue("notifications.jobs.sweep_job")
    run_worker(app)  # the sweep, then the deliveries it enqueued
    assert {d.status for d in WebhookDelivery.select()} == {"sent"}
    assert sorted(receiver.events) == event_ids()
