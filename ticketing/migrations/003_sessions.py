"""Peewee migrations -- 003_sessions.py: server-side sign-ins, the second factor, role policy."""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    @migrator.create_model
    class UserSession(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(
            column_name="user_id", field="id", model=migrator.orm["user"], on_delete="CASCADE"
        )
        key_hash = pw.CharField(max_length=64, unique=True)
        created_at = pw.DateTimeField()
        last_seen_at = pw.DateTimeField()
        revoked_at = pw.DateTimeField(null=True)
        user_agent = pw.CharField(default="", max_length=255)

        class Meta:
            table_name = "user_session"
            indexes = [(("user", "revoked_at"), False)]

    @migrator.create_model
    class RolePolicy(pw.Model):
        id = pw.AutoField()
        role = pw.CharField(max_length=16, unique=True)
        mfa_required = pw.BooleanField(default=False)

        class Meta:
            table_name = "role_policy"

    migrator.add_fields(
        "user",
        totp_secret=pw.CharField(max_length=64, null=True),
        totp_enabled_at=pw.DateTimeField(null=True),
        totp_last_step=pw.BigIntegerField(null=True),
        recovery_codes=pw.TextField(default="[]"),
    )


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    migrator.remove_fields(
        "user", "totp_secret", "totp_enabled_at", "totp_last_step", "recovery_codes"
    )
    migrator.remove_model("role_policy")
    migrator.remove_model("user_session")
