"""Business calendars: when each queue works (hours, time zone, days off, extra working days).

One `BusinessCalendar` per queue; a queue without one works the default calendar
(Monday to Friday 08:00–17:00, America/Guayaquil, Ecuador's national holidays).
`CalendarDay` rows are the days SGE or an institution declares: a day off (a local
holiday, a bridge) or a working day (a recovery Saturday).
"""

import peewee as pw

from ticketing.db import JSONField
from ticketing.models.base import BaseModel, now
from ticketing.models.people import Queue


class BusinessCalendar(BaseModel):
    """A queue's working hours: weekday ("0" = Monday) → [["08:00", "17:00"], ...]."""

    queue = pw.ForeignKeyField(Queue, backref="+", on_delete="CASCADE", unique=True)
    timezone = pw.CharField(max_length=64, default="America/Guayaquil")
    hours = JSONField(default=dict)
    national_holidays = pw.BooleanField(default=True)
    version = pw.IntegerField(default=1)  # a stale edit is refused
    updated_at = pw.DateTimeField(default=now)

    def __str__(self):
        return f"calendar of queue {self.queue_id}"


class CalendarDay(BaseModel):
    """A day a calendar's owner declared: off (working=False) or worked (working=True)."""

    calendar = pw.ForeignKeyField(
        BusinessCalendar, backref="days", on_delete="CASCADE", index=False
    )
    day = pw.DateField()
    working = pw.BooleanField(default=False)
    label = pw.CharField(max_length=120, default="")

    class Meta:
        indexes = ((("calendar", "day"), True),)

    def __str__(self):
        return f"{self.day} {'worked' if self.working else 'off'}"
