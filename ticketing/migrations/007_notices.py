"""Peewee migrations -- 007_notices.py: in-app notices (the bell) and mail preferences.

Creates `notice` (one row per person told of an event, with its unread and list indexes)
and `notice_preference` (the events a person chose to get by mail or not). Nothing to
fill: notices start with the next event; everyone's mail stays on until they choose.
"""

import peewee as pw
from peewee_migrate import Migrator


def _tables():
    from ticketing.models import Notice, NoticePreference

    return [Notice, NoticePreference]


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
