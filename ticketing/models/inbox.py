"""In-app notices: what reached a person (the bell and its list), and which events also mail.

A `Notice` is written beside the outbox row of the same event, in the change's transaction;
its `context` keeps what the list shows (reference, title, what) as it was said then.
`NoticePreference` holds only the events a person turned mail off (or back on) for:
no row means the default, mail on.
"""

import peewee as pw

from ticketing.db import JSONField
from ticketing.models.base import BaseModel, now
from ticketing.models.people import User
from ticketing.models.tickets import Ticket


class Notice(BaseModel):
    """One event told to one person in the app: unread until `read_at`."""

    user = pw.ForeignKeyField(User, backref="+", on_delete="CASCADE", index=False)
    ticket = pw.ForeignKeyField(Ticket, null=True, backref="+", on_delete="CASCADE")
    event = pw.CharField(max_length=64)
    actor = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL", index=False)
    context = JSONField(default=dict)  # reference, title, what
    created_at = pw.DateTimeField(default=now)
    read_at = pw.DateTimeField(null=True)

    class Meta:
        indexes = (
            (("user", "read_at", "id"), False),  # the bell: unread of one person
            (("user", "id"), False),  # the list, newest first, paged by id
        )

    def __str__(self):
        return f"{self.event} → {self.user_id}"


class NoticePreference(BaseModel):
    """Whether `event` also reaches `user` by mail (a notice is always written)."""

    user = pw.ForeignKeyField(User, backref="+", on_delete="CASCADE", index=False)
    event = pw.CharField(max_length=64)
    mail = pw.BooleanField(default=True)

    class Meta:
        indexes = ((("user", "event"), True),)

    def __str__(self):
        return f"{self.user_id}/{self.event}: {'mail' if self.mail else 'no mail'}"
