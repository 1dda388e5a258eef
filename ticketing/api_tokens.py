"""Personal API tokens: created and revoked by their owner (or by an operator), stored hashed.

A token is shown once, when it is made; the database keeps only its SHA-256, so a copy
of the database does not hand out working credentials.
"""

import datetime as dt
import hashlib
import secrets

from flask_babel import gettext as _

from ticketing.errors import Conflict, NotFound, ValidationFailed
from ticketing.models import AGQ, ApiToken, User, now
from ticketing.outbox import unit_of_work
from ticketing.services import SYSTEM

PREFIX = "mesa_"
NAME_MAX = 100
# last_used_at is refreshed at most this often, so reading the API does not write every time
TOUCH_EVERY = dt.timedelta(seconds=60)


def digest(secret: str) -> str:
    """The SHA-256 (hex) under which a token is stored."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(actor, *, owner=None, name: str = "") -> tuple[ApiToken, str]:
    """A new token for `actor` itself (or for `owner` when the operator makes it): (row, secret)."""
    owner = actor if actor is not SYSTEM else owner
    if owner is None:
        raise NotFound(_("Esa persona no existe."))
    if not owner.active:
        raise Conflict(_("La cuenta está desactivada."))
    name = (name or "").strip()
    if len(name) > NAME_MAX:
        message = _("Máximo %(n)s caracteres.", n=NAME_MAX)
        raise ValidationFailed(message, fields={"name": message})
    if any(ord(c) < 32 for c in name):
        message = _("El texto contiene caracteres no permitidos.")
        raise ValidationFailed(message, fields={"name": message})
    secret = PREFIX + secrets.token_urlsafe(32)
    with unit_of_work():
        row = ApiToken.create(user=owner.id, name=name, token_hash=digest(secret))
    return row, secret


def _may_manage_all(actor) -> bool:
    """The AGQ (and the system) may list and revoke anyone's tokens; others only their own."""
    return actor is SYSTEM or getattr(actor, "role", None) == AGQ


def tokens_of(actor, *, owner_id=None):
    """The tokens `actor` owns (or, for the AGQ, those of `owner_id`), newest first,
    revoked ones included. Asking for someone else's tokens without being AGQ is NotFound."""
    owner_id = actor.id if owner_id is None else owner_id
    if owner_id != getattr(actor, "id", None) and not _may_manage_all(actor):
        raise NotFound(_("Esa persona no existe."))
    return (
        ApiToken.select()
        .where(ApiToken.user == owner_id)
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    )


def revoke_token(actor, token_id) -> ApiToken:
    """Revoke one of `actor`'s own tokens (the AGQ or the operator may revoke any); idempotent."""
    try:
        token_id = int(token_id)
    except (TypeError, ValueError):
        token_id = 0
    query = ApiToken.select().where(ApiToken.id == token_id)
    if not _may_manage_all(actor):
        query = query.where(ApiToken.user == actor.id)
    row = query.first() if 0 < token_id < 2**31 else None
    if row is None:
        raise NotFound(_("Ese token no existe."))
    if row.revoked_at is None:
        with unit_of_work():
            row.revoked_at = now()
            ApiToken.update(revoked_at=row.revoked_at).where(ApiToken.id == row.id).execute()
    return row


def user_for_token(secret: str | None) -> User | None:
    """The active owner of a live token, or None; notes when the token was last used."""
    if not secret or len(secret) > 200:
        return None
    row = (
        ApiToken.select(ApiToken, User)
        .join(User)
        .where((ApiToken.token_hash == digest(secret)) & ApiToken.revoked_at.is_null())
        .first()
    )
    if row is None or not row.user.active:
        return None
    moment = now()
    if row.last_used_at is None or moment - row.last_used_at >= TOUCH_EVERY:
        ApiToken.update(last_used_at=moment).where(ApiToken.id == row.id).execute()
    return row.user
