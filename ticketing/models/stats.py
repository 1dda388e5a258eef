"""Figures kept in step with the tickets, so no page counts the ticket table.

`TicketCount` holds how many tickets stand in each combination of what the queues filter
on; `TicketWeek` how many were opened and closed (on time or late) each week. Both are
changed by `ticketing.stats` in the transaction that changes a ticket, and can be
rebuilt from the tickets at any time (`flask --app wsgi stats rebuild`).
"""

import peewee as pw

from ticketing.models.base import BaseModel

NO_ASSIGNEE = 0  # the assignee column of unassigned tickets (a NULL would never conflict)


class TicketCount(BaseModel):
    """The number of tickets with one institution, level, type, category, assignee and flags."""

    institution = pw.IntegerField()
    queue_level = pw.SmallIntegerField()
    type = pw.IntegerField()
    state_category = pw.CharField(max_length=16)
    assignee = pw.IntegerField(default=NO_ASSIGNEE)
    has_due = pw.BooleanField(default=False)
    waits = pw.BooleanField(default=False)  # waiting on another ticket (escalated to SGE)
    n = pw.IntegerField(default=0)

    class Meta:
        table_name = "ticket_count"
        indexes = (
            (
                (
                    "institution",
                    "queue_level",
                    "type",
                    "state_category",
                    "assignee",
                    "has_due",
                    "waits",
                ),
                True,
            ),
            (("queue_level", "state_category"), False),
        )

    def __str__(self):
        return f"{self.institution}/{self.queue_level}/{self.state_category}: {self.n}"


class TicketWeek(BaseModel):
    """Tickets opened, closed, closed on time (met) and late (missed) in one week."""

    institution = pw.IntegerField()
    queue_level = pw.SmallIntegerField()
    week = pw.DateField()  # the Monday
    kind = pw.CharField(max_length=8)  # opened | closed | met | missed
    n = pw.IntegerField(default=0)

    class Meta:
        table_name = "ticket_week"
        indexes = (
            (("institution", "queue_level", "week", "kind"), True),
            (("queue_level", "week"), False),
        )

    def __str__(self):
        return f"{self.institution}/{self.queue_level} {self.week} {self.kind}: {self.n}"
