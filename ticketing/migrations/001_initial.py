"""Peewee migrations -- 001_initial.py.

Some examples (model - class or model name)::

    > Model = migrator.orm['table_name']            # Return model in current state by name
    > Model = migrator.ModelClass                   # Return model in current state by name

    > migrator.sql(sql)                             # Run custom SQL
    > migrator.run(func, *args, **kwargs)           # Run python function with the given args
    > migrator.create_model(Model)                  # Create a model (could be used as decorator)
    > migrator.remove_model(model, cascade=True)    # Remove a model
    > migrator.add_fields(model, **fields)          # Add fields (allow_not_null=True skips default)
    > migrator.change_fields(model, **fields)       # Change fields
    > migrator.remove_fields(model, *field_names, cascade=True)
    > migrator.rename_field(model, old_field_name, new_field_name)
    > migrator.rename_table(model, new_table_name)
    > migrator.add_index(model, *col_names, unique=False)
    > migrator.add_not_null(model, *field_names)
    > migrator.add_default(model, field_name, default)
    > migrator.add_constraint(model, name, sql)
    > migrator.drop_index(model, *col_names)
    > migrator.drop_not_null(model, *field_names)
    > migrator.drop_constraints(model, *constraints)

"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your migrations here."""

    @migrator.create_model
    class Institution(pw.Model):
        id = pw.AutoField()
        name = pw.CharField(max_length=255)
        ruc = pw.CharField(max_length=13, unique=True)
        sigla = pw.CharField(max_length=32, unique=True)
        phone = pw.CharField(default="", max_length=64)
        address = pw.CharField(default="", max_length=255)
        is_sge = pw.BooleanField(default=False)
        stage = pw.CharField(default="solicitud", index=True, max_length=32)
        stage_since = pw.DateTimeField()
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "institution"

    @migrator.create_model
    class User(pw.Model):
        id = pw.AutoField()
        full_name = pw.CharField(max_length=255)
        cedula = pw.CharField(max_length=10, unique=True)
        cargo = pw.CharField(default="", max_length=255)
        email = pw.CharField(max_length=254, unique=True)
        phone = pw.CharField(default="", max_length=64)
        mobile = pw.CharField(default="", max_length=32)
        role = pw.CharField(default="interno", index=True, max_length=16)
        institution = pw.ForeignKeyField(
            column_name="institution_id", field="id", model=migrator.orm["institution"]
        )
        password_hash = pw.CharField(max_length=255, null=True)
        active = pw.BooleanField(default=True)
        locale = pw.CharField(default="es", max_length=8)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "user"

    @migrator.create_model
    class ApiToken(pw.Model):
        id = pw.AutoField()
        user = pw.ForeignKeyField(
            column_name="user_id", field="id", model=migrator.orm["user"], on_delete="CASCADE"
        )
        name = pw.CharField(default="", max_length=100)
        token_hash = pw.CharField(max_length=64, unique=True)
        created_at = pw.DateTimeField()
        last_used_at = pw.DateTimeField(null=True)
        revoked_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "api_token"

    @migrator.create_model
    class TicketType(pw.Model):
        id = pw.AutoField()
        slug = pw.CharField(max_length=64, unique=True)
        name = pw.CharField(max_length=255)
        name_en = pw.CharField(default="", max_length=255)
        description = pw.TextField(default="")
        category = pw.CharField(default="support", max_length=16)
        open_roles = pw.TextField()
        queue_level = pw.SmallIntegerField(default=1)
        deadline_days = pw.IntegerField(null=True)
        on_open = pw.TextField()
        active = pw.BooleanField(default=True)
        order = pw.IntegerField(default=0)

        class Meta:
            table_name = "ticket_type"

    @migrator.create_model
    class TicketTypeVersion(pw.Model):
        id = pw.AutoField()
        ticket_type = pw.ForeignKeyField(
            column_name="ticket_type_id",
            field="id",
            model=migrator.orm["ticket_type"],
            on_delete="CASCADE",
        )
        number = pw.IntegerField()
        definition = pw.TextField()
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "ticket_type_version"
            indexes = [(("ticket_type", "number"), True)]

    @migrator.create_model
    class Queue(pw.Model):
        id = pw.AutoField()
        institution = pw.ForeignKeyField(
            column_name="institution_id",
            field="id",
            model=migrator.orm["institution"],
            on_delete="CASCADE",
        )
        level = pw.SmallIntegerField(default=1)
        name = pw.CharField(max_length=255)
        email = pw.CharField(max_length=254, null=True, unique=True)
        default_type_slug = pw.CharField(max_length=64, null=True)

        class Meta:
            table_name = "queue"
            indexes = [(("institution", "level"), True)]

    @migrator.create_model
    class Ticket(pw.Model):
        id = pw.AutoField()
        type = pw.ForeignKeyField(
            column_name="type_id", field="id", model=migrator.orm["ticket_type"]
        )
        type_version = pw.ForeignKeyField(
            column_name="type_version_id", field="id", model=migrator.orm["ticket_type_version"]
        )
        title = pw.CharField(max_length=255)
        fields = pw.TextField()
        checklist = pw.TextField()
        state = pw.CharField(max_length=64)
        state_category = pw.CharField(default="open", max_length=16)
        queue = pw.ForeignKeyField(column_name="queue_id", field="id", model=migrator.orm["queue"])
        queue_level = pw.SmallIntegerField(default=1)
        institution = pw.ForeignKeyField(
            column_name="institution_id", field="id", model=migrator.orm["institution"]
        )
        requester = pw.ForeignKeyField(
            column_name="requester_id", field="id", model=migrator.orm["user"]
        )
        assignee = pw.ForeignKeyField(
            column_name="assignee_id", field="id", model=migrator.orm["user"], null=True
        )
        parent = pw.ForeignKeyField(column_name="parent_id", field="id", model="self", null=True)
        waiting_on = pw.ForeignKeyField(
            column_name="waiting_on_id", field="id", model="self", null=True
        )
        due_at = pw.DateTimeField(index=True, null=True)
        reminded = pw.TextField()
        created_at = pw.DateTimeField(index=True)
        updated_at = pw.DateTimeField(index=True)
        closed_at = pw.DateTimeField(null=True)
        version = pw.IntegerField(default=1)

        class Meta:
            table_name = "ticket"
            indexes = [
                (("queue_level", "state_category", "updated_at"), False),
                (("institution", "state_category", "updated_at"), False),
                (("requester", "updated_at"), False),
            ]

    @migrator.create_model
    class Comment(pw.Model):
        id = pw.AutoField()
        ticket = pw.ForeignKeyField(
            column_name="ticket_id", field="id", model=migrator.orm["ticket"], on_delete="CASCADE"
        )
        author = pw.ForeignKeyField(
            column_name="author_id", field="id", model=migrator.orm["user"], null=True
        )
        body = pw.TextField()
        internal = pw.BooleanField(default=False)
        source = pw.CharField(default="web", max_length=16)
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "comment"

    @migrator.create_model
    class Blob(pw.Model):
        id = pw.AutoField()
        sha256 = pw.CharField(max_length=64, unique=True)
        size = pw.IntegerField()
        data = pw.BlobField()

        class Meta:
            table_name = "blob"

    @migrator.create_model
    class Attachment(pw.Model):
        id = pw.AutoField()
        ticket = pw.ForeignKeyField(
            column_name="ticket_id", field="id", model=migrator.orm["ticket"], on_delete="CASCADE"
        )
        comment = pw.ForeignKeyField(
            column_name="comment_id",
            field="id",
            model=migrator.orm["comment"],
            null=True,
            on_delete="CASCADE",
        )
        field_name = pw.CharField(max_length=64, null=True)
        checklist_key = pw.CharField(max_length=64, null=True)
        filename = pw.CharField(max_length=255)
        content_type = pw.CharField(default="application/octet-stream", max_length=128)
        size = pw.IntegerField()
        blob = pw.ForeignKeyField(column_name="blob_id", field="id", model=migrator.orm["blob"])
        internal = pw.BooleanField(default=False)
        uploaded_by = pw.ForeignKeyField(
            column_name="uploaded_by_id", field="id", model=migrator.orm["user"], null=True
        )
        created_at = pw.DateTimeField()

        class Meta:
            table_name = "attachment"

    @migrator.create_model
    class ChecklistItemDef(pw.Model):
        id = pw.AutoField()
        ticket_type = pw.ForeignKeyField(
            column_name="ticket_type_id",
            field="id",
            model=migrator.orm["ticket_type"],
            on_delete="CASCADE",
        )
        key = pw.CharField(max_length=64)
        label = pw.CharField(max_length=255)
        label_en = pw.CharField(default="", max_length=255)
        required = pw.BooleanField(default=True)
        roles = pw.TextField()
        evidence = pw.CharField(default="none", max_length=16)
        hours = pw.IntegerField(null=True)
        schedulable = pw.BooleanField(default=False)
        order = pw.IntegerField(default=0)

        class Meta:
            table_name = "checklist_item_def"
            indexes = [(("ticket_type", "key"), True)]

    @migrator.create_model
    class DefaultTrackingItem(pw.Model):
        id = pw.AutoField()
        label = pw.CharField(max_length=255, unique=True)
        order = pw.IntegerField(default=0)

        class Meta:
            table_name = "default_tracking_item"

    @migrator.create_model
    class FieldDef(pw.Model):
        id = pw.AutoField()
        ticket_type = pw.ForeignKeyField(
            column_name="ticket_type_id",
            field="id",
            model=migrator.orm["ticket_type"],
            on_delete="CASCADE",
        )
        name = pw.CharField(max_length=64)
        label = pw.CharField(max_length=255)
        label_en = pw.CharField(default="", max_length=255)
        help_text = pw.CharField(default="", max_length=500)
        kind = pw.CharField(default="text", max_length=32)
        required = pw.BooleanField(default=False)
        order = pw.IntegerField(default=0)
        fieldset = pw.CharField(default="", max_length=100)
        default = pw.CharField(default="", max_length=500)
        choices = pw.TextField()
        options = pw.TextField()

        class Meta:
            table_name = "field_def"
            indexes = [(("ticket_type", "name"), True)]

    @migrator.create_model
    class InboundMail(pw.Model):
        id = pw.AutoField()
        received_at = pw.DateTimeField(index=True)
        sender = pw.CharField(default="", max_length=254)
        recipient = pw.CharField(default="", max_length=254)
        subject = pw.CharField(default="", max_length=255)
        message_id = pw.CharField(default="", max_length=255)
        status = pw.CharField(default="accepted", max_length=16)
        reason = pw.CharField(default="", max_length=255)
        ticket = pw.ForeignKeyField(
            column_name="ticket_id",
            field="id",
            model=migrator.orm["ticket"],
            null=True,
            on_delete="SET NULL",
        )
        raw = pw.BlobField()

        class Meta:
            table_name = "inbound_mail"

    @migrator.create_model
    class NotificationTemplate(pw.Model):
        id = pw.AutoField()
        event = pw.CharField(max_length=64)
        type_slug = pw.CharField(default="", max_length=64)
        locale = pw.CharField(default="es", max_length=8)
        subject = pw.CharField(max_length=255)
        text = pw.TextField()
        html = pw.TextField(default="")

        class Meta:
            table_name = "notification_template"
            indexes = [(("event", "type_slug", "locale"), True)]

    @migrator.create_model
    class Outbox(pw.Model):
        id = pw.AutoField()
        recipient = pw.CharField(max_length=254)
        recipient_user = pw.ForeignKeyField(
            column_name="recipient_user_id", field="id", model=migrator.orm["user"], null=True
        )
        ticket = pw.ForeignKeyField(
            column_name="ticket_id",
            field="id",
            model=migrator.orm["ticket"],
            null=True,
            on_delete="SET NULL",
        )
        event = pw.CharField(max_length=64)
        template_type = pw.CharField(default="", max_length=64)
        locale = pw.CharField(default="es", max_length=8)
        context = pw.TextField()
        status = pw.CharField(default="pending", index=True, max_length=16)
        attempts = pw.IntegerField(default=0)
        last_error = pw.TextField(default="")
        message_id = pw.CharField(max_length=255, unique=True)
        dedupe_key = pw.CharField(max_length=255, null=True, unique=True)
        created_at = pw.DateTimeField(index=True)
        sent_at = pw.DateTimeField(null=True)
        subject = pw.CharField(default="", max_length=255)
        body = pw.TextField(default="")

        class Meta:
            table_name = "outbox"
            indexes = [(("status", "created_at"), False)]

    @migrator.create_model
    class StageChange(pw.Model):
        id = pw.AutoField()
        institution = pw.ForeignKeyField(
            column_name="institution_id",
            field="id",
            model=migrator.orm["institution"],
            on_delete="CASCADE",
        )
        stage = pw.CharField(max_length=32)
        reached_at = pw.DateTimeField()

        class Meta:
            table_name = "stage_change"

    @migrator.create_model
    class StateDef(pw.Model):
        id = pw.AutoField()
        ticket_type = pw.ForeignKeyField(
            column_name="ticket_type_id",
            field="id",
            model=migrator.orm["ticket_type"],
            on_delete="CASCADE",
        )
        key = pw.CharField(max_length=64)
        label = pw.CharField(max_length=255)
        label_en = pw.CharField(default="", max_length=255)
        category = pw.CharField(default="open", max_length=16)
        initial = pw.BooleanField(default=False)
        order = pw.IntegerField(default=0)

        class Meta:
            table_name = "state_def"
            indexes = [(("ticket_type", "key"), True)]

    @migrator.create_model
    class TicketEvent(pw.Model):
        id = pw.AutoField()
        ticket = pw.ForeignKeyField(
            column_name="ticket_id", field="id", model=migrator.orm["ticket"], on_delete="CASCADE"
        )
        actor = pw.ForeignKeyField(
            column_name="actor_id", field="id", model=migrator.orm["user"], null=True
        )
        at = pw.DateTimeField()
        kind = pw.CharField(max_length=32)
        data = pw.TextField()
        public = pw.BooleanField(default=True)

        class Meta:
            table_name = "ticket_event"

    @migrator.create_model
    class TrackingItem(pw.Model):
        id = pw.AutoField()
        institution = pw.ForeignKeyField(
            column_name="institution_id",
            field="id",
            model=migrator.orm["institution"],
            on_delete="CASCADE",
        )
        label = pw.CharField(max_length=255)
        order = pw.IntegerField(default=0)
        met = pw.BooleanField(default=False)
        met_by = pw.ForeignKeyField(
            column_name="met_by_id", field="id", model=migrator.orm["user"], null=True
        )
        met_at = pw.DateTimeField(null=True)
        note = pw.TextField(default="")

        class Meta:
            table_name = "tracking_item"
            indexes = [(("institution", "order"), False)]

    @migrator.create_model
    class TransitionDef(pw.Model):
        id = pw.AutoField()
        ticket_type = pw.ForeignKeyField(
            column_name="ticket_type_id",
            field="id",
            model=migrator.orm["ticket_type"],
            on_delete="CASCADE",
        )
        name = pw.CharField(max_length=64)
        label = pw.CharField(max_length=255)
        label_en = pw.CharField(default="", max_length=255)
        from_states = pw.TextField()
        to_state = pw.CharField(max_length=64)
        roles = pw.TextField()
        guards = pw.TextField()
        effects = pw.TextField()
        order = pw.IntegerField(default=0)

        class Meta:
            table_name = "transition_def"
            indexes = [(("ticket_type", "name"), True)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Write your rollback migrations here."""

    migrator.remove_model("transition_def")

    migrator.remove_model("tracking_item")

    migrator.remove_model("ticket_event")

    migrator.remove_model("state_def")

    migrator.remove_model("stage_change")

    migrator.remove_model("outbox")

    migrator.remove_model("notification_template")

    migrator.remove_model("inbound_mail")

    migrator.remove_model("field_def")

    migrator.remove_model("default_tracking_item")

    migrator.remove_model("checklist_item_def")

    migrator.remove_model("attachment")

    migrator.remove_model("blob")

    migrator.remove_model("comment")

    migrator.remove_model("ticket")

    migrator.remove_model("queue")

    migrator.remove_model("ticket_type_version")

    migrator.remove_model("ticket_type")

    migrator.remove_model("api_token")

    migrator.remove_model("user")

    migrator.remove_model("institution")
