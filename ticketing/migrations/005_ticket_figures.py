"""Peewee migrations -- 005_ticket_figures.py: maintained counts and weekly figures, keyset indexes.

The queues and the dashboard read `ticket_count` and `ticket_week` (kept by
`ticketing.stats`) instead of counting tickets; lists page through (updated_at, id)
ranges of the new indexes. The figures of existing tickets are computed once here.
"""

import peewee as pw
from peewee_migrate import Migrator

ACTIVE = "state_category IN ('open', 'waiting')"
DROPPED = (
    "ticket_queue_level_state_category_updated_at",
    "ticket_institution_id_state_category_updated_at",
    "ticket_requester_id_updated_at",
    # prefixes of the new composite indexes
    "ticket_institution_id",
    "ticket_requester_id",
    "ticket_assignee_id",
)
CREATED = (
    ("ticket_institution_id_updated_at_id", "institution_id, updated_at, id", ""),
    ("ticket_queue_level_updated_at_id", "queue_level, updated_at, id", ""),
    ("ticket_requester_id_updated_at_id", "requester_id, updated_at, id", ""),
    ("ticket_assignee_id_updated_at_id", "assignee_id, updated_at, id", ""),
    ("ticket_open_institution", "institution_id, updated_at, id", ACTIVE),
    ("ticket_open_level", "queue_level, updated_at, id", ACTIVE),
    ("ticket_overdue_institution", "institution_id, due_at", f"{ACTIVE} AND due_at IS NOT NULL"),
    ("ticket_overdue_level", "queue_level, due_at", f"{ACTIVE} AND due_at IS NOT NULL"),
)
CLOSED = "state_category IN ('done', 'rejected') AND closed_at IS NOT NULL"


def _monday(database, column: str) -> str:
    if isinstance(database, pw.SqliteDatabase):
        return f"date({column}, 'weekday 0', '-6 days')"
    return f"CAST(date_trunc('week', {column}) AS date)"


def _fill(database) -> None:
    """The figures of the tickets already there (what `ticketing.stats.rebuild` computes)."""
    database.execute_sql(
        "INSERT INTO ticket_count (institution, queue_level, type, state_category, assignee,"
        " has_due, waits, n)"
        " SELECT institution_id, queue_level, type_id, state_category, COALESCE(assignee_id, 0),"
        " due_at IS NOT NULL, waiting_on_id IS NOT NULL, COUNT(*) FROM ticket"
        " GROUP BY institution_id, queue_level, type_id, state_category,"
        " COALESCE(assignee_id, 0), due_at IS NOT NULL, waiting_on_id IS NOT NULL"
    )
    for kind, column, where in (
        ("opened", "created_at", "1 = 1"),
        ("closed", "closed_at", CLOSED),
        ("met", "closed_at", f"{CLOSED} AND closed_at <= due_at"),
        ("missed", "closed_at", f"{CLOSED} AND closed_at > due_at"),
    ):
        week = _monday(database, column)
        database.execute_sql(
            "INSERT INTO ticket_week (institution, queue_level, week, kind, n)"
            f" SELECT institution_id, queue_level, {week}, '{kind}', COUNT(*) FROM ticket"
            f" WHERE {where} GROUP BY institution_id, queue_level, {week}"
        )


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class TicketCount(pw.Model):
        id = pw.AutoField()
        institution = pw.IntegerField()
        queue_level = pw.SmallIntegerField()
        type = pw.IntegerField()
        state_category = pw.CharField(max_length=16)
        assignee = pw.IntegerField(default=0)
        has_due = pw.BooleanField(default=False)
        waits = pw.BooleanField(default=False)
        n = pw.IntegerField(default=0)

        class Meta:
            table_name = "ticket_count"
            indexes = [
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
            ]

    @migrator.create_model
    class TicketWeek(pw.Model):
        id = pw.AutoField()
        institution = pw.IntegerField()
        queue_level = pw.SmallIntegerField()
        week = pw.DateField()
        kind = pw.CharField(max_length=8)
        n = pw.IntegerField(default=0)

        class Meta:
            table_name = "ticket_week"
            indexes = [
                (("institution", "queue_level", "week", "kind"), True),
                (("queue_level", "week"), False),
            ]

    for name in DROPPED:
        migrator.sql(f"DROP INDEX IF EXISTS {name}")
    for name, columns, where in CREATED:
        migrator.sql(
            f"CREATE INDEX IF NOT EXISTS {name} ON ticket ({columns})"
            + (f" WHERE {where}" if where else "")
        )
    migrator.run(_fill, database)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    for name, _columns, _where in CREATED:
        migrator.sql(f"DROP INDEX IF EXISTS {name}")
    migrator.sql("CREATE INDEX ticket_institution_id ON ticket (institution_id)")
    migrator.sql("CREATE INDEX ticket_requester_id ON ticket (requester_id)")
    migrator.sql("CREATE INDEX ticket_assignee_id ON ticket (assignee_id)")
    migrator.sql(
        "CREATE INDEX ticket_queue_level_state_category_updated_at"
        " ON ticket (queue_level, state_category, updated_at)"
    )
    migrator.sql(
        "CREATE INDEX ticket_institution_id_state_category_updated_at"
        " ON ticket (institution_id, state_category, updated_at)"
    )
    migrator.sql("CREATE INDEX ticket_requester_id_updated_at ON ticket (requester_id, updated_at)")
    migrator.remove_model("ticket_week")
    migrator.remove_model("ticket_count")
