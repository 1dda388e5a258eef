"""Institutions, their queues and stages, people, their sign-ins, policies and API tokens."""

import peewee as pw
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from ticketing.db import JSONField
from ticketing.models.base import AGENT_ROLES, FIRST_LEVEL, INTERNO, ROLE_LABELS, BaseModel, now


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
