"""Peewee migrations -- 002_ticket_state_index.py: lists and the API filter tickets by state."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_index("ticket", "state", unique=False)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.drop_index("ticket", "state")
