"""Peewee migrations -- 009_webhooks.py: SGE's webhook endpoints and their deliveries.

Creates `webhook_endpoint` (the URLs the AGQ registers, with the events they want and
their signing secret) and `webhook_delivery` (one row per event and endpoint, with its
attempts; its indexes serve the sweeper and the admin list). Nothing to fill: deliveries
start with the next event after an endpoint is registered.
"""

import peewee as pw
from peewee_migrate import Migrator


def _tables():
    from ticketing.models import WebhookDelivery, WebhookEndpoint

    return [WebhookEndpoint, WebhookDelivery]


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
