"""Peewee migrations -- 011_business_calendars.py: business calendars of the queues.

Creates `business_calendar` (one per queue) and `calendar_day` (declared days). A queue
without a calendar works the default one: nothing to fill.
"""

import peewee as pw
from peewee_migrate import Migrator


def _tables():
    from ticketing.models import BusinessCalendar, CalendarDay

    return [BusinessCalendar, CalendarDay]


def _create(database) -> None:
    # the app's models are bound to the app's database: this one may be another (tests)
    with database.bind_ctx(_tables()):
        database.create_tables(_tables())


def _drop(database) -> None:
    with database.bind_ctx(_tables()):
        database.drop_tables(list(reversed(_tables())), safe=True)


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.run(_create, database)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.run(_drop, database)
