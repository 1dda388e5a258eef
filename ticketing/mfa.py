"""The second factor: TOTP codes (pyotp), single-use recovery codes, and the AGQ's policy.

The TOTP secret is stored readable (a code can only be checked against the secret);
recovery codes are stored as SHA-256 hashes and each one works once.
"""

import datetime as dt
import hashlib
import hmac
import secrets

import peewee as pw
import pyotp
from flask_babel import gettext as _

from ticketing.db import db
from ticketing.errors import PermissionDenied, ValidationFailed
from ticketing.models import AGQ, AIQ, RolePolicy, User, now

MFA_ROLES = (AGQ, AIQ)
RECOVERY_CODE_COUNT = 10
ISSUER = "Mesa Quipux"
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off paper


def may_use_mfa(user: User) -> bool:
    """Whether the person's role can turn on a second factor (AGQ and AIQ)."""
    return getattr(user, "role", None) in MFA_ROLES


def has_mfa(user: User) -> bool:
    """Whether sign-in asks this person for a code after the password."""
    return bool(user.totp_enabled_at and user.totp_secret)


def required_roles() -> set[str]:
    """Roles whose accounts the AGQ requires to have a second factor."""
    rows = RolePolicy.select(RolePolicy.role).where(RolePolicy.mfa_required == True)
    return {row.role for row in rows}


def setup_required(user: User) -> bool:
    """Whether the person must set up a second factor before doing anything else.

    Uses the flag the session loader read with the user (no query per request).
    """
    return may_use_mfa(user) and not has_mfa(user) and bool(getattr(user, "mfa_required", False))


def set_required_roles(actor: User, roles) -> set[str]:
    """The AGQ requires a second factor of the accounts of `roles` (a subset of AGQ, AIQ)."""
    if getattr(actor, "role", None) != AGQ or not actor.active:
        raise PermissionDenied(_("Solo el AGQ decide quién debe usar un segundo factor."))
    wanted = set(roles or ())
    if not wanted <= set(MFA_ROLES):
        raise ValidationFailed(_("Rol desconocido."))
    with db.atomic():
        for role in MFA_ROLES:
            policy, _created = RolePolicy.get_or_create(role=role)
            if policy.mfa_required != (role in wanted):
                policy.mfa_required = role in wanted
                policy.save()
    return wanted


def _refuse_unless_allowed(user: User) -> None:
    if not may_use_mfa(user):
        raise PermissionDenied(_("El segundo factor es para cuentas AGQ y AIQ."))


def begin_enrolment(user: User) -> str:
    """A fresh secret, kept pending until a code from it is confirmed; returns it."""
    _refuse_unless_allowed(user)
    if has_mfa(user):
        raise ValidationFailed(_("El segundo factor ya está activado."))
    secret = pyotp.random_base32()
    User.update(totp_secret=secret, totp_last_step=None).where(User.id == user.id).execute()
    user.totp_secret = secret
    return secret


def provisioning_uri(user: User) -> str:
    """The otpauth:// address an authenticator app reads (typed or as a QR code)."""
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def _matching_step(secret: str, code: str) -> int | None:
    """The time step (now ± 30 s) whose code is `code`, or None."""
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(dt.datetime.now(dt.UTC))
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _claim_step(user: User, step: int) -> bool:
    """Record `step` as used; False when it (or a later one) was used already (replay)."""
    claimed = (
        User.update(totp_last_step=step)
        .where(
            (User.id == user.id) & (User.totp_last_step.is_null() | (User.totp_last_step < step))
        )
        .execute()
    )
    if claimed:
        user.totp_last_step = step
    return bool(claimed)


def _new_recovery_codes() -> tuple[list[str], list[str]]:
    codes = []
    for _i in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_ALPHABET) for _j in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes, [_hash_code(code) for code in codes]


def _hash_code(code: str) -> str:
    normal = "".join(ch for ch in (code or "").upper() if ch.isalnum())
    return hashlib.sha256(normal.encode()).hexdigest()


def confirm_enrolment(user: User, code: str) -> list[str]:
    """Turn the factor on once a code from the pending secret checks; returns recovery codes.

    The codes are shown once: only their hashes are kept.
    """
    _refuse_unless_allowed(user)
    fresh = User.get_by_id(user.id)
    if has_mfa(fresh):
        raise ValidationFailed(_("El segundo factor ya está activado."))
    step = _matching_step(fresh.totp_secret or "", code) if fresh.totp_secret else None
    if step is None:
        raise ValidationFailed(
            _("El código no es válido. Revise la hora del teléfono e intente de nuevo."),
            fields={"code": _("Código no válido.")},
        )
    codes, hashes = _new_recovery_codes()
    with db.atomic():
        User.update(totp_enabled_at=now(), totp_last_step=step, recovery_codes=hashes).where(
            User.id == user.id
        ).execute()
    user.totp_secret, user.totp_enabled_at, user.recovery_codes = fresh.totp_secret, now(), hashes
    return codes


def verify_second_factor(user: User, code: str) -> bool:
    """Whether `code` is a current TOTP code or an unused recovery code (which it uses up)."""
    fresh = User.get_by_id(user.id)
    if not has_mfa(fresh):
        return False
    step = _matching_step(fresh.totp_secret, code)
    if step is not None:
        return _claim_step(fresh, step)
    hashed = _hash_code(code)
    if not any(hmac.compare_digest(hashed, known) for known in fresh.recovery_codes or []):
        return False
    remaining = [known for known in fresh.recovery_codes if known != hashed]
    # conditional on the list read: two requests with one code cannot both use it
    used = (
        User.update(recovery_codes=remaining)
        .where(
            (User.id == user.id)
            & (User.recovery_codes == pw.Value(fresh.recovery_codes, unpack=False))
        )
        .execute()
    )
    return bool(used)


def recovery_codes_left(user: User) -> int:
    """How many recovery codes remain unused."""
    return len(user.recovery_codes or [])


def regenerate_recovery_codes(user: User, code: str) -> list[str]:
    """New recovery codes (the old ones stop working), after a current code; shown once."""
    _refuse_unless_allowed(user)
    if not verify_second_factor(user, code):
        raise ValidationFailed(_("Código no válido."), fields={"code": _("Código no válido.")})
    codes, hashes = _new_recovery_codes()
    User.update(recovery_codes=hashes).where(User.id == user.id).execute()
    user.recovery_codes = hashes
    return codes


def disable(user: User, code: str) -> None:
    """Turn the second factor off, after a current code; refused where the AGQ requires it."""
    if user.role in required_roles():
        raise PermissionDenied(_("El AGQ exige el segundo factor a su rol: no puede desactivarlo."))
    if not verify_second_factor(user, code):
        raise ValidationFailed(_("Código no válido."), fields={"code": _("Código no válido.")})
    User.update(
        totp_secret=None, totp_enabled_at=None, totp_last_step=None, recovery_codes=[]
    ).where(User.id == user.id).execute()
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    user.recovery_codes = []
