"""Persistent model of Mesa: people, queues, ticket types (as data), tickets, outbox."""

import datetime as dt

import peewee as pw
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from ticketing.db import JSONField, db

# Roles, from least to most reach.
INTERNO, FOCAL, AIQ, AGQ = "interno", "focal", "aiq", "agq"
ROLES = (INTERNO, FOCAL, AIQ, AGQ)
ROLE_LABELS = {
    INTERNO: _l("Usuario interno"),
    FOCAL: _l("Usuario focal"),
    AIQ: _l("Administrador Institucional Quipux (AIQ)"),
    AGQ: _l("Administrador Gubernamental Quipux (AGQ)"),
}
AGENT_ROLES = (FOCAL, AIQ, AGQ)

# Queue levels.
FIRST_LEVEL, SECOND_LEVEL = 1, 2

# State categories: what lists filter on, whatever a type names its states.
OPEN, WAITING, DONE, REJECTED = "open", "waiting", "done", "rejected"
STATE_CATEGORIES = (OPEN, WAITING, DONE, REJECTED)
ACTIVE_CATEGORIES = (OPEN, WAITING)

# Institution stages in the rollout, in order.
STAGES = (
    "solicitud",
    "capacitacion",
    "ambiente_capacitacion",
    "paso_produccion",
    "produccion",
)
STAGE_LABELS = {
    "solicitud": _l("Solicitud"),
    "capacitacion": _l("Capacitación"),
    "ambiente_capacitacion": _l("Ambiente de capacitación"),
    "paso_produccion": _l("Paso a producción"),
    "produccion": _l("Producción"),
}

# Ticket type categories.
TYPE_CATEGORIES = ("onboarding", "support", "escalation")


def now() -> dt.datetime:
    """Naive UTC now: what every timestamp column stores."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


class BaseModel(pw.Model):
    class Meta:
        database = db
        legacy_table_names = False


class Institution(BaseModel):
    name = pw.CharField(max_length=255)
    ruc = pw.CharField(max_length=13, unique=True)
    sigla = pw.CharField(max_length=32, unique=True)
    phone = pw.CharField(max_length=64, default="")
    address = pw.CharField(max_length=255, default="")
    is_sge = pw.BooleanField(default=False)
    stage = pw.CharField(max_length=32, default="solicitud", index=True)
    stage_since = pw.DateTimeField(default=now)
    created_at = pw.DateTimeField(default=now)

    def __str__(self):
        return f"{self.sigla} — {self.name}"


class StageChange(BaseModel):
    """The date an institution reached each stage (append-only)."""

    institution = pw.ForeignKeyField(Institution, backref="stage_changes", on_delete="CASCADE")
    stage = pw.CharField(max_length=32)
    reached_at = pw.DateTimeField(default=now)

    def __str__(self):
        return f"{self.institution_id}: {self.stage} @ {self.reached_at:%Y-%m-%d}"


class User(UserMixin, BaseModel):
    full_name = pw.CharField(max_length=255)
    cedula = pw.CharField(max_length=10, unique=True)
    cargo = pw.CharField(max_length=255, default="")
    email = pw.CharField(max_length=254, unique=True)
    phone = pw.CharField(max_length=64, default="")
    mobile = pw.CharField(max_length=32, default="")
    role = pw.CharField(max_length=16, default=INTERNO, index=True)
    institution = pw.ForeignKeyField(Institution, backref="users", index=True)
    password_hash = pw.CharField(max_length=255, null=True)
    active = pw.BooleanField(default=True)
    locale = pw.CharField(max_length=8, default="es")
    created_at = pw.DateTimeField(default=now)
    # second factor: the TOTP secret must stay readable to check codes; recovery codes hashed
    totp_secret = pw.CharField(max_length=64, null=True)
    totp_enabled_at = pw.DateTimeField(null=True)
    totp_last_step = pw.BigIntegerField(null=True)  # last accepted time step (no replay)
    recovery_codes = JSONField(default=list)  # sha256 hex of each unused recovery code

    # "<id>:<session key>" of the sign-in this instance was loaded from (see sessions.py)
    session_token: str | None = None
    mfa_required = False  # set by the loader from the role's policy

    def __str__(self):
        return f"{self.full_name} <{self.email}>"

    def get_id(self):
        # Flask-Login stores this in the session and the remember cookie: a revocable key
        return self.session_token

    def __eq__(self, other):
        # one person however signed in (UserMixin would compare `get_id`, the sign-in)
        if isinstance(other, User):
            return self.id == other.id
        return NotImplemented

    __hash__ = UserMixin.__hash__

    @property
    def is_active(self):
        return self.active

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return bool(self.password_hash) and check_password_hash(self.password_hash, password)

    @property
    def is_agent(self) -> bool:
        return self.role in AGENT_ROLES

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)


class UserSession(BaseModel):
    """A sign-in: its cookie carries the key, revoking the row ends it everywhere."""

    user = pw.ForeignKeyField(User, backref="sessions", on_delete="CASCADE")
    key_hash = pw.CharField(max_length=64, unique=True)
    created_at = pw.DateTimeField(default=now)
    last_seen_at = pw.DateTimeField(default=now)
    revoked_at = pw.DateTimeField(null=True)
    user_agent = pw.CharField(max_length=255, default="")

    class Meta:
        indexes = ((("user", "revoked_at"), False),)

    def __str__(self):
        return f"{self.user_id} @ {self.created_at:%Y-%m-%d %H:%M}"


class RolePolicy(BaseModel):
    """What the AGQ requires of a role's accounts (today: a second factor)."""

    role = pw.CharField(max_length=16, unique=True)
    mfa_required = pw.BooleanField(default=False)

    def __str__(self):
        return f"{self.role}: {'2FA' if self.mfa_required else '-'}"


class ApiToken(BaseModel):
    user = pw.ForeignKeyField(User, backref="api_tokens", on_delete="CASCADE")
    name = pw.CharField(max_length=100, default="")
    token_hash = pw.CharField(max_length=64, unique=True)
    created_at = pw.DateTimeField(default=now)
    last_used_at = pw.DateTimeField(null=True)
    revoked_at = pw.DateTimeField(null=True)

    def __str__(self):
        return f"{self.name or 'token'} ({self.user_id})"


class Queue(BaseModel):
    """A help-desk queue: each institution's first level, SGE's second level."""

    institution = pw.ForeignKeyField(Institution, backref="queues", on_delete="CASCADE")
    level = pw.SmallIntegerField(default=FIRST_LEVEL)
    name = pw.CharField(max_length=255)
    email = pw.CharField(max_length=254, null=True, unique=True)
    default_type_slug = pw.CharField(max_length=64, null=True)

    class Meta:
        indexes = ((("institution", "level"), True),)

    def __str__(self):
        return self.name


class TicketType(BaseModel):
    """A kind of ticket, designed as data: its draft definition lives in the child rows."""

    slug = pw.CharField(max_length=64, unique=True)
    name = pw.CharField(max_length=255)
    name_en = pw.CharField(max_length=255, default="")
    description = pw.TextField(default="")
    description_en = pw.TextField(default="")
    category = pw.CharField(max_length=16, default="support")
    open_roles = JSONField(default=list)  # roles that may open it
    queue_level = pw.SmallIntegerField(default=FIRST_LEVEL)
    deadline_days = pw.IntegerField(null=True)  # due date, days after opening
    on_open = JSONField(default=list)  # effects run when a ticket of this type opens
    active = pw.BooleanField(default=True)
    order = pw.IntegerField(default=0)

    def __str__(self):
        return self.name


class FieldDef(BaseModel):
    ticket_type = pw.ForeignKeyField(TicketType, backref="field_defs", on_delete="CASCADE")
    name = pw.CharField(max_length=64)
    label = pw.CharField(max_length=255)
    label_en = pw.CharField(max_length=255, default="")
    help_text = pw.CharField(max_length=500, default="")
    help_text_en = pw.CharField(max_length=500, default="")
    kind = pw.CharField(max_length=32, default="text")
    required = pw.BooleanField(default=False)
    order = pw.IntegerField(default=0)
    fieldset = pw.CharField(max_length=100, default="")
    default = pw.CharField(max_length=500, default="")
    choices = JSONField(default=list)  # for choice kinds: list of [value, label]
    choices_en = JSONField(default=dict)  # English choice labels: value -> label
    options = JSONField(default=dict)  # kind-specific: max_mb, extensions, multiple, roles...

    class Meta:
        indexes = ((("ticket_type", "name"), True),)

    def __str__(self):
        return f"{self.label} ({self.kind})"


class ChecklistItemDef(BaseModel):
    ticket_type = pw.ForeignKeyField(TicketType, backref="checklist_defs", on_delete="CASCADE")
    key = pw.CharField(max_length=64)
    label = pw.CharField(max_length=255)
    label_en = pw.CharField(max_length=255, default="")
    required = pw.BooleanField(default=True)
    roles = JSONField(default=list)  # roles that may tick it; empty = any agent of the ticket
    evidence = pw.CharField(max_length=16, default="none")  # none | comment | attachment
    hours = pw.IntegerField(null=True)  # duration, e.g. of a course
    schedulable = pw.BooleanField(default=False)  # has a date set by the queue's agents
    order = pw.IntegerField(default=0)

    class Meta:
        indexes = ((("ticket_type", "key"), True),)

    def __str__(self):
        return self.label


class StateDef(BaseModel):
    ticket_type = pw.ForeignKeyField(TicketType, backref="state_defs", on_delete="CASCADE")
    key = pw.CharField(max_length=64)
    label = pw.CharField(max_length=255)
    label_en = pw.CharField(max_length=255, default="")
    category = pw.CharField(max_length=16, default=OPEN)
    initial = pw.BooleanField(default=False)
    order = pw.IntegerField(default=0)

    class Meta:
        indexes = ((("ticket_type", "key"), True),)

    def __str__(self):
        return self.label


class TransitionDef(BaseModel):
    ticket_type = pw.ForeignKeyField(TicketType, backref="transition_defs", on_delete="CASCADE")
    name = pw.CharField(max_length=64)
    label = pw.CharField(max_length=255)
    label_en = pw.CharField(max_length=255, default="")
    from_states = JSONField(default=list)  # state keys; empty = any non-final state
    to_state = pw.CharField(max_length=64)
    roles = JSONField(default=list)  # roles allowed; empty = any agent of the ticket
    guards = JSONField(default=list)  # list of guard names or {"kind": ..., ...}
    effects = JSONField(default=list)  # list of {"kind": ..., ...}
    order = pw.IntegerField(default=0)

    class Meta:
        indexes = ((("ticket_type", "name"), True),)

    def __str__(self):
        return self.label


class TicketTypeVersion(BaseModel):
    """An immutable snapshot of a type's definition; tickets keep the one they opened with."""

    ticket_type = pw.ForeignKeyField(TicketType, backref="versions", on_delete="CASCADE")
    number = pw.IntegerField()
    definition = JSONField()
    created_at = pw.DateTimeField(default=now)

    class Meta:
        indexes = ((("ticket_type", "number"), True),)

    def __str__(self):
        return f"{self.ticket_type_id} v{self.number}"


class Ticket(BaseModel):
    type = pw.ForeignKeyField(TicketType, backref="tickets", index=True)
    type_version = pw.ForeignKeyField(TicketTypeVersion, backref="tickets")
    title = pw.CharField(max_length=255)
    fields = JSONField(default=dict)
    checklist = JSONField(default=dict)  # key -> {done, by, at, comment, scheduled_at}
    state = pw.CharField(max_length=64, index=True)
    state_category = pw.CharField(max_length=16, default=OPEN)
    queue = pw.ForeignKeyField(Queue, backref="tickets", index=True)
    queue_level = pw.SmallIntegerField(default=FIRST_LEVEL)
    institution = pw.ForeignKeyField(Institution, backref="tickets", index=True)
    requester = pw.ForeignKeyField(User, backref="requested_tickets", index=True)
    assignee = pw.ForeignKeyField(User, backref="assigned_tickets", null=True, index=True)
    parent = pw.ForeignKeyField("self", backref="children", null=True, index=True)
    waiting_on = pw.ForeignKeyField("self", null=True, backref="waited_by")
    due_at = pw.DateTimeField(null=True, index=True)
    reminded = JSONField(default=list)  # reminder kinds already sent for the current due date
    created_at = pw.DateTimeField(default=now, index=True)
    updated_at = pw.DateTimeField(default=now, index=True)
    closed_at = pw.DateTimeField(null=True)
    version = pw.IntegerField(default=1)  # optimistic lock

    class Meta:
        indexes = (
            (("queue_level", "state_category", "updated_at"), False),
            (("institution", "state_category", "updated_at"), False),
            (("requester", "updated_at"), False),
        )

    def __str__(self):
        return f"{self.reference} {self.title}"

    @property
    def reference(self) -> str:
        return f"MESA-{self.id}"

    @property
    def is_overdue(self) -> bool:
        return (
            self.due_at is not None
            and self.state_category in ACTIVE_CATEGORIES
            and self.due_at < now()
        )


class TicketEvent(BaseModel):
    """Append-only history: who did what to a ticket, from what to what."""

    ticket = pw.ForeignKeyField(Ticket, backref="events", on_delete="CASCADE", index=True)
    actor = pw.ForeignKeyField(User, null=True, backref="+")
    at = pw.DateTimeField(default=now)
    kind = pw.CharField(max_length=32)
    data = JSONField(default=dict)
    public = pw.BooleanField(default=True)  # shown to the requester

    def __str__(self):
        return f"{self.kind} @ {self.at}"


class Comment(BaseModel):
    ticket = pw.ForeignKeyField(Ticket, backref="comments", on_delete="CASCADE", index=True)
    author = pw.ForeignKeyField(User, null=True, backref="+")
    body = pw.TextField()
    internal = pw.BooleanField(default=False)
    source = pw.CharField(max_length=16, default="web")  # web | mail | api
    created_at = pw.DateTimeField(default=now)

    def __str__(self):
        return self.body[:60]


class Blob(BaseModel):
    """Attachment bytes, content-addressed; kept in the database so every web machine shares them."""

    sha256 = pw.CharField(max_length=64, unique=True)
    size = pw.IntegerField()
    data = pw.BlobField()

    def __str__(self):
        return self.sha256


class Attachment(BaseModel):
    ticket = pw.ForeignKeyField(Ticket, backref="attachments", on_delete="CASCADE", index=True)
    comment = pw.ForeignKeyField(Comment, null=True, backref="attachments", on_delete="CASCADE")
    field_name = pw.CharField(max_length=64, null=True)
    checklist_key = pw.CharField(max_length=64, null=True)
    filename = pw.CharField(max_length=255)
    content_type = pw.CharField(max_length=128, default="application/octet-stream")
    size = pw.IntegerField()
    blob = pw.ForeignKeyField(Blob, backref="+")
    internal = pw.BooleanField(default=False)
    uploaded_by = pw.ForeignKeyField(User, null=True, backref="+")
    created_at = pw.DateTimeField(default=now)

    def __str__(self):
        return self.filename


class TrackingItem(BaseModel):
    """An item of an institution's plantilla de seguimiento (tracking template)."""

    institution = pw.ForeignKeyField(Institution, backref="tracking_items", on_delete="CASCADE")
    label = pw.CharField(max_length=255)
    label_en = pw.CharField(max_length=255, default="")
    order = pw.IntegerField(default=0)
    met = pw.BooleanField(default=False)
    met_by = pw.ForeignKeyField(User, null=True, backref="+")
    met_at = pw.DateTimeField(null=True)
    note = pw.TextField(default="")

    class Meta:
        indexes = ((("institution", "order"), False),)

    def __str__(self):
        return self.label


class DefaultTrackingItem(BaseModel):
    """The default plantilla de seguimiento new institutions start from (editable by the AGQ)."""

    label = pw.CharField(max_length=255, unique=True)
    label_en = pw.CharField(max_length=255, default="")
    order = pw.IntegerField(default=0)

    def __str__(self):
        return self.label


class NotificationTemplate(BaseModel):
    """Mail for an event, optionally specific to a ticket type, per language."""

    event = pw.CharField(max_length=64)
    type_slug = pw.CharField(max_length=64, default="")  # "" = every type
    locale = pw.CharField(max_length=8, default="es")
    subject = pw.CharField(max_length=255)
    text = pw.TextField()
    html = pw.TextField(default="")

    class Meta:
        indexes = ((("event", "type_slug", "locale"), True),)

    def __str__(self):
        return f"{self.event}/{self.type_slug or '*'}/{self.locale}"


PENDING, SENT, FAILED = "pending", "sent", "failed"


class Outbox(BaseModel):
    """A notification, written in the same transaction as the change that causes it."""

    recipient = pw.CharField(max_length=254)
    recipient_user = pw.ForeignKeyField(User, null=True, backref="+")
    ticket = pw.ForeignKeyField(Ticket, null=True, backref="outbox", on_delete="SET NULL")
    event = pw.CharField(max_length=64)
    template_type = pw.CharField(max_length=64, default="")
    locale = pw.CharField(max_length=8, default="es")
    context = JSONField(default=dict)
    status = pw.CharField(max_length=16, default=PENDING, index=True)
    attempts = pw.IntegerField(default=0)
    last_error = pw.TextField(default="")
    message_id = pw.CharField(max_length=255, unique=True)
    dedupe_key = pw.CharField(max_length=255, null=True, unique=True)
    created_at = pw.DateTimeField(default=now, index=True)
    sent_at = pw.DateTimeField(null=True)
    subject = pw.CharField(max_length=255, default="")  # rendered, kept for inspection
    body = pw.TextField(default="")

    class Meta:
        indexes = ((("status", "created_at"), False),)

    def __str__(self):
        return f"{self.event} → {self.recipient} ({self.status})"


class InboundMail(BaseModel):
    """Every message fed to mail-in, kept whatever became of it."""

    received_at = pw.DateTimeField(default=now, index=True)
    sender = pw.CharField(max_length=254, default="")
    recipient = pw.CharField(max_length=254, default="")
    subject = pw.CharField(max_length=255, default="")
    message_id = pw.CharField(max_length=255, default="")
    status = pw.CharField(max_length=16, default="accepted")  # accepted | refused
    reason = pw.CharField(max_length=255, default="")
    ticket = pw.ForeignKeyField(Ticket, null=True, backref="+", on_delete="SET NULL")
    raw = pw.BlobField()

    def __str__(self):
        return f"{self.sender}: {self.subject} ({self.status})"


MODELS = [
    Institution,
    StageChange,
    User,
    UserSession,
    RolePolicy,
    ApiToken,
    Queue,
    TicketType,
    FieldDef,
    ChecklistItemDef,
    StateDef,
    TransitionDef,
    TicketTypeVersion,
    Ticket,
    TicketEvent,
    Comment,
    Blob,
    Attachment,
    TrackingItem,
    DefaultTrackingItem,
    NotificationTemplate,
    Outbox,
    InboundMail,
]
