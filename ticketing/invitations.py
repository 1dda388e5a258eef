"""Signed links to choose a password: invitations and password resets (never a password in mail)."""

import hashlib

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ticketing.models import User

INVITATION_MAX_AGE = 7 * 24 * 3600


def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="mesa-invitation")


def _password_mark(user: User) -> str:
    """Changes whenever the password does, and tells nothing of the hash (the link is readable)."""
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def invitation_token(user: User) -> str:
    """A signed link token, void once the password it sets has changed."""
    return _serializer().dumps({"u": user.id, "p": _password_mark(user)})


def user_from_invitation(token: str) -> User | None:
    """The person a live link is for, or None (bad signature, expired, password changed)."""
    try:
        data = _serializer().loads(token, max_age=INVITATION_MAX_AGE)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    user = User.get_or_none(User.id == data["u"])
    if user is None or _password_mark(user) != data.get("p"):
        return None
    return user
