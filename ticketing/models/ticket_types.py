"""Ticket types as data: fields, checklist items, states, transitions and published versions."""

import peewee as pw

from ticketing.db import JSONField
from ticketing.models.base import FIRST_LEVEL, OPEN, BaseModel, now


class TicketType(BaseModel):
    """A kind of ticket, designed as data: its draft definition lives in the child rows."""

    slug = pw.CharField(max_length=64, unique=True)
    name = pw.CharField(max_length=255)
    name_en = pw.CharField(max_length=255, default="")
    description = pw.TextField(default="")
    description_en = pw.TextField(default="")
    category = pw.CharField(max_length=16, default="support")
    open_roles = JSONField(default=list)  # roles that may open it
    queue_level = pw.SmallIntegerField(default=FIRST_LEVEL)
    deadline_days = pw.IntegerField(null=True)  # due date, days after opening
    on_open = JSONField(default=list)  # effects run when a ticket of this type opens
    active = pw.BooleanField(default=True)
    order = pw.IntegerField(default=0)

    def __str__(self):
        return self.name


class FieldDef(BaseModel):
    ticket_type = pw.ForeignKeyField(TicketType, backref="field_defs", on_delete="CASCADE")
    name = pw.CharField(max_length=64)
    label = pw.CharField(max_length=255)
    label_en = pw.CharField(max_length=255, default="")
    help_text = pw.CharField(max_length=500, default="")
    help_text_en = pw.CharField(max_length=500, default="")
    kind = pw.CharField(max_length=32, default="text")
    required = pw.BooleanField(default=False)
    order = pw.IntegerField(default=0)
    fieldset = pw.CharField(max_length=100, default="")
    default = pw.CharField(max_length=500, default="")
    choices = JSONField(default=list)  # for choice kinds: list of [value, label]
    choices_en = JSONField(default=dict)  # English choice labels: value -> label
    options = JSONField(default=dict)  # kind-specific: max_mb, extensions, multiple, roles...

    class Meta:
        indexes = ((("ticket_type", "name"), True),)

    def __str__(self):
        return f"{self.label} ({self.kind})"


class ChecklistItemDef(BaseModel):
    ticket_type = pw.ForeignKeyField(TicketType, backref="checklist_defs", on_delete="CASCADE")
    key = pw.CharField(max_length=64)
    label = pw.CharField(max_length=255)
    label_en = pw.CharField(max_length=255, default="")
    required = pw.BooleanField(default=True)
    roles = JSONField(default=list)  # roles that may tick it; empty = any agent of the ticket
    evidence = pw.CharField(max_length=16, default="none")  # none | comment | attachment
    hours = pw.IntegerField(null=True)  # duration, e.g. of a course
    schedulable = pw.BooleanField(default=False)  # has a date set by the queue's agents
    order = pw.IntegerField(default=0)

    class Meta:
        indexes = ((("ticket_type", "key"), True),)

    def __str__(self):
        return self.label


class StateDef(BaseModel):
    ticket_type = pw.ForeignKeyField(TicketType, backref="state_defs", on_delete="CASCADE")
    key = pw.CharField(max_length=64)
    label = pw.CharField(max_length=255)
    label_en = pw.CharField(max_length=255, default="")
    category = pw.CharField(max_length=16, default=OPEN)
    initial = pw.BooleanField(default=False)
    order = pw.IntegerField(default=0)

    class Meta:
        indexes = ((("ticket_type", "key"), True),)

    def __str__(self):
        return self.label


class TransitionDef(BaseModel):
    ticket_type = pw.ForeignKeyField(TicketType, backref="transition_defs", on_delete="CASCADE")
    name = pw.CharField(max_length=64)
    label = pw.CharField(max_length=255)
    label_en = pw.CharField(max_length=255, default="")
    from_states = JSONField(default=list)  # state keys; empty = any non-final state
    to_state = pw.CharField(max_length=64)
    roles = JSONField(default=list)  # roles allowed; empty = any agent of the ticket
    guards = JSONField(default=list)  # list of guard names or {"kind": ..., ...}
    effects = JSONField(default=list)  # list of {"kind": ..., ...}
    order = pw.IntegerField(default=0)

    class Meta:
        indexes = ((("ticket_type", "name"), True),)

    def __str__(self):
        return self.label


class TicketTypeVersion(BaseModel):
    """An immutable snapshot of a type's definition; tickets keep the one they opened with."""

    ticket_type = pw.ForeignKeyField(TicketType, backref="versions", on_delete="CASCADE")
    number = pw.IntegerField()
    definition = JSONField()
    created_at = pw.DateTimeField(default=now)

    class Meta:
        indexes = ((("ticket_type", "number"), True),)

    def __str__(self):
        return f"{self.ticket_type_id} v{self.number}"
