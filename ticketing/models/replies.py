"""Canned replies (respuestas predefinidas): answers written once, offered in the comment box.

A reply with no institution is SGE's, offered to everyone who answers tickets; one with an
institution is that institution's own, written by its AIQ. `body` is Markdown with Jinja
placeholders (`{{ solicitante }}`, `{{ referencia }}`, field values) filled from the ticket
in Jinja's sandbox; `transition`, when set, is taken with the answer ("responder y
resolver") wherever the ticket's type has it.
"""

import peewee as pw

from ticketing.db import JSONField
from ticketing.models.base import BaseModel, now
from ticketing.models.people import Institution, User


class CannedReply(BaseModel):
    """One predefined answer: SGE's (no institution) or one institution's."""

    name = pw.CharField(max_length=120)
    body = pw.TextField()
    institution = pw.ForeignKeyField(
        Institution, null=True, backref="+", on_delete="CASCADE", index=False
    )
    type_slugs = JSONField(default=list)  # the ticket types it is offered on; empty: all
    transition = pw.CharField(max_length=64, default="")  # taken with the answer, if any
    internal = pw.BooleanField(default=False)  # posted as an internal note
    active = pw.BooleanField(default=True)
    author = pw.ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL", index=False)
    updated_at = pw.DateTimeField(default=now)
    version = pw.IntegerField(default=1)  # a stale edit is refused

    class Meta:
        indexes = (
            (("institution", "active", "name"), False),  # the picker's list, by name
        )

    def __str__(self):
        return self.name
