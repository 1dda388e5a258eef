"""Peewee migrations -- 010_idempotency.py: the API's remembered Idempotency-Key answers.

Creates `idempotency_key` (one row per key a token sent with a POST, unique per token,
with the fingerprint of the request and the answer it got). Nothing to fill: keys are
remembered from the next request on.
"""

import peewee as pw
from peewee_migrate import Migrator


def _tables():
    from ticketing.models import IdempotencyKey

    return [IdempotencyKey]


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
