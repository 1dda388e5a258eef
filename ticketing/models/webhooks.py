"""Webhooks: SGE's own systems registered by the AGQ, and each event's delivery to them.

A `WebhookDelivery` is written in the transaction of the change that causes it (like an
outbox row) and POSTed after commit, signed with its endpoint's secret. `event_id` is the
idempotency key receivers deduplicate by: one per event, the same for every endpoint the
event goes to and for every attempt (sent as `X-Mesa-Delivery`).
"""

import peewee as pw

from ticketing.db import JSONField
from ticketing.models.base import BaseModel, now
from ticketing.models.people import User
from ticketing.models.tickets import Ticket

# a delivery's statuses: written pending, claimed (sending) by one deliverer, then sent, or
# failed after the last attempt
WEBHOOK_PENDING, WEBHOOK_SENDING, WEBHOOK_SENT, WEBHOOK_FAILED = (
    "pending",
    "sending",
    "sent",
    "failed",
)
WEBHOOK_STATUSES = (WEBHOOK_PENDING, WEBHOOK_SENDING, WEBHOOK_SENT, WEBHOOK_FAILED)


class WebhookEndpoint(BaseModel):
    """A URL of SGE's systems that receives the events it names (none named: every event)."""

    url = pw.CharField(max_length=2000)
    events = JSONField(default=list)  # event names; empty: all of them
    secret = pw.CharField(max_length=128)  # HMAC-SHA256 key of the signature header
    description = pw.CharField(max_length=200, default="")
    active = pw.BooleanField(default=True)
    created_by = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL", index=False)
    created_at = pw.DateTimeField(default=now)

    def __str__(self):
        return self.description or self.url

    def wants(self, event: str) -> bool:
        """Whether this endpoint receives `event`."""
        return self.active and (not self.events or event in self.events)


class WebhookDelivery(BaseModel):
    """One event for one endpoint: its signed JSON, its attempts and their outcome."""

    endpoint = pw.ForeignKeyField(
        WebhookEndpoint, backref="deliveries", on_delete="CASCADE", index=False
    )
    event = pw.CharField(max_length=64)
    ticket = pw.ForeignKeyField(Ticket, null=True, backref="+", on_delete="SET NULL")
    payload = JSONField(default=dict)
    event_id = pw.CharField(max_length=32)  # uuid4 hex, shared by the event's deliveries
    status = pw.CharField(max_length=16, default=WEBHOOK_PENDING)
    attempts = pw.IntegerField(default=0)
    # for the AGQ only: a status code, "timeout", "connection refused"... never a response body
    last_error = pw.CharField(max_length=200, default="")
    next_attempt_at = pw.DateTimeField(null=True)  # when the sweeper may try a pending row
    claimed_at = pw.DateTimeField(null=True)  # when the current (or last) attempt started
    created_at = pw.DateTimeField(default=now)
    sent_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = (
            (("endpoint", "event_id"), True),  # one delivery per event and endpoint
            (("status", "next_attempt_at"), False),  # the sweeper's pending rows
            (("endpoint", "id"), False),  # an endpoint's deliveries, newest first
        )

    def __str__(self):
        return f"{self.event} #{self.event_id[:8]} → {self.endpoint_id}"
