"""Peewee migrations -- 004_english.py: English for type descriptions, help texts, choices, tracking items."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.add_fields("ticket_type", description_en=pw.TextField(default=""))
    migrator.add_fields(
        "field_def",
        help_text_en=pw.CharField(max_length=500, default=""),
        choices_en=pw.TextField(default="{}"),  # JSON: choice value -> English label
    )
    migrator.add_fields("tracking_item", label_en=pw.CharField(max_length=255, default=""))
    migrator.add_fields("default_tracking_item", label_en=pw.CharField(max_length=255, default=""))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields("default_tracking_item", "label_en")
    migrator.remove_fields("tracking_item", "label_en")
    migrator.remove_fields("field_def", "help_text_en", "choices_en")
    migrator.remove_fields("ticket_type", "description_en")
