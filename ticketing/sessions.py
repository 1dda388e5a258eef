"""Server-side sign-ins: a cookie works only while its session row is live.

Flask-Login keeps `"<user id>:<session key>"` in the session cookie and in the remember
cookie; the key is stored hashed. Signing out revokes that row; a password change or
reset, a deactivation or a role change revokes every row of the person, so copied
cookies and remember-me cookies stop working at once.
"""

import datetime as dt
import hashlib
import secrets

import peewee as pw
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

from ticketing.db import db
from ticketing.errors import ValidationFailed
from ticketing.models import RolePolicy, User, UserSession, now

# last_seen_at is written at most this often, so a page view costs one lookup, not a write
SEEN_EVERY = dt.timedelta(minutes=1)


_DUMMY_HASH: list[str] = []


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _split(token: str | None) -> tuple[int, str] | None:
    user_id, _sep, key = (token or "").partition(":")
    if not key or not user_id.isdigit():
        return None
    return int(user_id), key


def start_session(user: User, user_agent: str = "") -> str:
    """Open a sign-in for `user`; returns the token the cookies carry (also set on `user`)."""
    key = secrets.token_urlsafe(32)
    UserSession.create(user=user.id, key_hash=_hash(key), user_agent=(user_agent or "")[:255])
    user.session_token = f"{user.id}:{key}"
    return user.session_token


def load_session_user(token: str | None) -> User | None:
    """The active user of a live sign-in, with its role's policy, in one query; else None."""
    parts = _split(token)
    if parts is None:
        return None
    user_id, key = parts
    row = (
        User.select(
            User,
            UserSession.id.alias("_session_id"),
            UserSession.last_seen_at.alias("_last_seen_at"),
            RolePolicy.mfa_required.alias("_mfa_required"),
        )
        .join(UserSession, on=(UserSession.user == User.id))
        .switch(User)
        .join(RolePolicy, pw.JOIN.LEFT_OUTER, on=(RolePolicy.role == User.role))
        .where(
            (UserSession.key_hash == _hash(key))
            & UserSession.revoked_at.is_null()
            & (User.id == user_id)
            & (User.active == True)
        )
        .objects()
        .first()
    )
    if row is None:
        return None
    row.session_token = f"{user_id}:{key}"
    row.mfa_required = bool(row._mfa_required)
    moment = now()
    if row._last_seen_at is None or moment - row._last_seen_at >= SEEN_EVERY:
        UserSession.update(last_seen_at=moment).where(UserSession.id == row._session_id).execute()
    return row


def revoke_session(token: str | None) -> None:
    """End one sign-in (signing out): its session and remember cookies stop working."""
    parts = _split(token)
    if parts is None:
        return
    user_id, key = parts
    UserSession.update(revoked_at=now()).where(
        (UserSession.key_hash == _hash(key))
        & (UserSession.user == user_id)
        & UserSession.revoked_at.is_null()
    ).execute()


def revoke_all(user: User | int) -> int:
    """End every sign-in of `user`; returns how many ended."""
    user_id = user if isinstance(user, int) else user.id
    return (
        UserSession.update(revoked_at=now())
        .where((UserSession.user == user_id) & UserSession.revoked_at.is_null())
        .execute()
    )


def live_sessions(user: User):
    """The person's sign-ins still in use, newest first."""
    return (
        UserSession.select()
        .where((UserSession.user == user.id) & UserSession.revoked_at.is_null())
        .order_by(UserSession.last_seen_at.desc())
    )


def authenticate(email: str, password: str) -> User | None:
    """The active account of `email` if `password` is its password, else None.

    An unknown address costs one password check too, so the answer takes as long.
    """
    user = User.get_or_none(User.email == (email or "").strip().lower())
    if user is None or not user.password_hash:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(generate_password_hash(secrets.token_hex(8)))
        check_password_hash(_DUMMY_HASH[0], password or "")
        return None
    if not user.check_password(password or "") or not user.active:
        return None
    return user


def set_password(user: User, password: str) -> None:
    """Give `user` a new password and end every sign-in of theirs."""
    user.set_password(password)
    with db.atomic():
        User.update(password_hash=user.password_hash).where(User.id == user.id).execute()
        revoke_all(user)


def change_password(user: User, current: str, new: str) -> None:
    """The signed-in person changes their password; every sign-in of theirs ends.

    The caller opens a fresh one for the browser in use: a copy of its old cookie dies too.
    """
    fresh = User.get_by_id(user.id)
    if not fresh.check_password(current or ""):
        message = _("La contraseña actual no es correcta.")
        raise ValidationFailed(message, fields={"current": message})
    set_password(fresh, new)
    user.password_hash = fresh.password_hash
