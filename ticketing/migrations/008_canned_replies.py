"""Peewee migrations -- 008_canned_replies.py: canned replies (respuestas predefinidas).

Creates `canned_reply` with its picker index. The seed (`flask --app wsgi seed`, run at
every start) adds SGE's first replies from seeds/replies.yaml.
"""

import peewee as pw
from peewee_migrate import Migrator


def _tables():
    from ticketing.models import CannedReply

    return [CannedReply]


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
