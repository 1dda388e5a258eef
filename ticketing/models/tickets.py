"""Tickets, their history, comments and attachments (file contents kept once, by digest)."""

import peewee as pw

from ticketing.db import JSONField
from ticketing.models.base import ACTIVE_CATEGORIES, FIRST_LEVEL, OPEN, BaseModel, now
from ticketing.models.people import Institution, Queue, User
from ticketing.models.ticket_types import TicketType, TicketTypeVersion


class Ticket(BaseModel):
    type = pw.ForeignKeyField(TicketType, backref="tickets", index=True)
    type_version = pw.ForeignKeyField(TicketTypeVersion, backref="tickets")
    title = pw.CharField(max_length=255)
    fields = JSONField(default=dict)
    checklist = JSONField(default=dict)  # key -> {done, by, at, comment, scheduled_at}
    state = pw.CharField(max_length=64, index=True)
    state_category = pw.CharField(max_length=16, default=OPEN)
    queue = pw.ForeignKeyField(Queue, backref="tickets", index=True)
    queue_level = pw.SmallIntegerField(default=FIRST_LEVEL)
    institution = pw.ForeignKeyField(Institution, backref="tickets", index=False)
    requester = pw.ForeignKeyField(User, backref="requested_tickets", index=False)
    assignee = pw.ForeignKeyField(User, backref="assigned_tickets", null=True, index=False)
    parent = pw.ForeignKeyField("self", backref="children", null=True, index=True)
    waiting_on = pw.ForeignKeyField("self", null=True, backref="waited_by")
    due_at = pw.DateTimeField(null=True, index=True)
    reminded = JSONField(default=list)  # reminder kinds already sent for the current due date
    created_at = pw.DateTimeField(default=now, index=True)
    updated_at = pw.DateTimeField(default=now, index=True)
    closed_at = pw.DateTimeField(null=True)
    version = pw.IntegerField(default=1)  # optimistic lock

    class Meta:
        # every list reads one of these ranges in (updated_at, id) order: keyset pages
        # seek into them (see `ticketing.paging`); the partial ones below serve the open
        # tickets, what queues show by default, and the overdue ones
        indexes = (
            (("institution", "updated_at", "id"), False),
            (("queue_level", "updated_at", "id"), False),
            (("requester", "updated_at", "id"), False),
            (("assignee", "updated_at", "id"), False),
        )

    def __str__(self):
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return f"MESA-{self.id}"

    @property
    def is_overdue(self) -> bool:
        return (
            self.due_at is not None
            and self.state_category in ACTIVE_CATEGORIES
            and self.due_at < now()
        )


_active = Ticket.state_category.in_(ACTIVE_CATEGORIES)
PARTIAL_INDEXES = (
    Ticket.index(
        Ticket.institution, Ticket.updated_at, Ticket.id, name="ticket_open_institution"
    ).where(_active),
    Ticket.index(Ticket.queue_level, Ticket.updated_at, Ticket.id, name="ticket_open_level").where(
        _active
    ),
    Ticket.index(Ticket.institution, Ticket.due_at, name="ticket_overdue_institution").where(
        _active & Ticket.due_at.is_null(False)
    ),
    Ticket.index(Ticket.queue_level, Ticket.due_at, name="ticket_overdue_level").where(
        _active & Ticket.due_at.is_null(False)
    ),
)
for _index in PARTIAL_INDEXES:
    Ticket.add_index(_index)


class TicketEvent(BaseModel):
    """Append-only history: who did what to a ticket, from what to what."""

    ticket = pw.ForeignKeyField(Ticket, backref="events", on_delete="CASCADE", index=True)
    actor = pw.ForeignKeyField(User, null=True, backref="+")
    at = pw.DateTimeField(default=now)
    kind = pw.CharField(max_length=32)
    data = JSONField(default=dict)
    public = pw.BooleanField(default=True)  # shown to the requester

    def __str__(self):
        return f"{self.kind} @ {self.at}"


class Comment(BaseModel):
    ticket = pw.ForeignKeyField(Ticket, backref="comments", on_delete="CASCADE", index=True)
    author = pw.ForeignKeyField(User, null=True, backref="+")
    body = pw.TextField()
    internal = pw.BooleanField(default=False)
    source = pw.CharField(max_length=16, default="web")  # web | mail | api
    created_at = pw.DateTimeField(default=now)

    def __str__(self):
        return self.body[:60]


class Blob(BaseModel):
    """Attachment bytes, content-addressed; kept in the database so every web machine shares them."""

    sha256 = pw.CharField(max_length=64, unique=True)
    size = pw.IntegerField()
    data = pw.BlobField()

    def __str__(self):
        return self.sha256


class Attachment(BaseModel):
    ticket = pw.ForeignKeyField(Ticket, backref="attachments", on_delete="CASCADE", index=True)
    comment = pw.ForeignKeyField(Comment, null=True, backref="attachments", on_delete="CASCADE")
    field_name = pw.CharField(max_length=64, null=True)
    checklist_key = pw.CharField(max_length=64, null=True)
    filename = pw.CharField(max_length=255)
    content_type = pw.CharField(max_length=128, default="application/octet-stream")
    size = pw.IntegerField()
    blob = pw.ForeignKeyField(Blob, backref="+")
    internal = pw.BooleanField(default=False)
    uploaded_by = pw.ForeignKeyField(User, null=True, backref="+")
    created_at = pw.DateTimeField(default=now)

    def __str__(self):
        return self.filename
