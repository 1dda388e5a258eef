"""Mail: notification templates, the outbox of mail due and the inbound mail received."""

import peewee as pw

from ticketing.db import JSONField
from ticketing.models.base import BaseModel, now
from ticketing.models.people import User
from ticketing.models.tickets import Ticket


class NotificationTemplate(BaseModel):
    """Mail for an event, optionally specific to a ticket type, per language."""

    event = pw.CharField(max_length=64)
    type_slug = pw.CharField(max_length=64, default="")  # "" = every type
    locale = pw.CharField(max_length=8, default="es")
    subject = pw.CharField(max_length=255)
    text = pw.TextField()
    html = pw.TextField(default="")

    class Meta:
        indexes = ((("event", "type_slug", "locale"), True),)

    def __str__(self):
        return f"{self.event}/{self.type_slug or '*'}/{self.locale}"


PENDING, SENT, FAILED = "pending", "sent", "failed"


class Outbox(BaseModel):
    """A notification, written in the same transaction as the change that causes it."""

    recipient = pw.CharField(max_length=254)
    recipient_user = pw.ForeignKeyField(User, null=True, backref="+")
    ticket = pw.ForeignKeyField(Ticket, null=True, backref="outbox", on_delete="SET NULL")
    event = pw.CharField(max_length=64)
    template_type = pw.CharField(max_length=64, default="")
    locale = pw.CharField(max_length=8, default="es")
    context = JSONField(default=dict)
    status = pw.CharField(max_length=16, default=PENDING, index=True)
    attempts = pw.IntegerField(default=0)
    last_error = pw.TextField(default="")
    message_id = pw.CharField(max_length=255, unique=True)
    dedupe_key = pw.CharField(max_length=255, null=True, unique=True)
    created_at = pw.DateTimeField(default=now, index=True)
    sent_at = pw.DateTimeField(null=True)
    subject = pw.CharField(max_length=255, default="")  # rendered, kept for inspection
    body = pw.TextField(default="")

    class Meta:
        indexes = ((("status", "created_at"), False),)

    def __str__(self):
        return f"{self.event} → {self.recipient} ({self.status})"


class InboundMail(BaseModel):
    """Every message fed to mail-in, kept whatever became of it."""

    ACCEPTED, REFUSED = "accepted", "refused"  # what became of it

    received_at = pw.DateTimeField(default=now, index=True)
    sender = pw.CharField(max_length=254, default="")
    recipient = pw.CharField(max_length=254, default="")
    subject = pw.CharField(max_length=255, default="")
    message_id = pw.CharField(max_length=255, default="")
    status = pw.CharField(max_length=16, default="accepted")  # accepted | refused
    reason = pw.CharField(max_length=255, default="")
    ticket = pw.ForeignKeyField(Ticket, null=True, backref="+", on_delete="SET NULL")
    raw = pw.BlobField()

    def __str__(self):
        return f"{self.sender}: {self.subject} ({self.status})"
