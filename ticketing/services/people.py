"""People: adding and editing users, and the invitation to set a password."""

import peewee
from flask_babel import gettext as _

from ticketing.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ticketing.fields import FieldError, normalize_cedula
from ticketing.models import AGQ, AIQ, FOCAL, INTERNO, ROLES, Institution, User
from ticketing.outbox import queue_mail, unit_of_work
from ticketing.services.common import SYSTEM
from ticketing.urls import public_url


def send_invitation(user: User, ticket=None):
    """Mail a link to set a password (the mail never carries a password)."""
    from ticketing.invitations import invitation_token

    context = {
        "name": user.full_name,
        "email": user.email,
        "institution": user.institution.sigla,
        "url": public_url(f"/password/{invitation_token(user)}"),
        "login_url": public_url("/login"),
        "reference": ticket.reference if ticket else "",
    }
    queue_mail("invitation", user, ticket=ticket, context=context)


def create_user(
    actor,
    *,
    full_name,
    cedula,
    email,
    role,
    institution_id,
    cargo="",
    phone="",
    mobile="",
    password=None,
    invite=True,
) -> User:
    """Add a person: the AGQ anywhere; the AIQ internal and focal users of its institution."""
    from email_validator import EmailNotValidError, validate_email

    from ticketing.fields import normalize_phone

    if actor is not SYSTEM:
        if actor.role == AIQ:
            if institution_id != actor.institution_id or role not in (INTERNO, FOCAL):
                raise PermissionDenied(
                    _("El AIQ solo agrega usuarios internos y focales de su institución.")
                )
        elif actor.role != AGQ:
            raise PermissionDenied(_("No puede crear usuarios."))
    errors = {}
    if not (full_name or "").strip():
        errors["full_name"] = _("Este campo es obligatorio.")
    try:
        cedula = normalize_cedula(cedula)
    except FieldError as exc:
        errors["cedula"] = exc.message
    try:
        email = validate_email(email or "", check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        errors["email"] = _("Escriba un correo electrónico válido.")
    if role not in ROLES:
        errors["role"] = _("Rol desconocido.")
    institution = Institution.get_or_none(Institution.id == institution_id)
    if institution is None:
        errors["institution"] = _("Institución desconocida.")
    elif role == AGQ and not institution.is_sge:
        errors["role"] = _("Los AGQ pertenecen a SGE.")
    for name, value in (("phone", phone), ("mobile", mobile)):
        if value:
            try:
                normalize_phone(value)
            except FieldError as exc:
                errors[name] = exc.message
    if errors:
        raise ValidationFailed(_("Revise los campos marcados."), fields=errors)
    with unit_of_work():
        if User.select().where(User.cedula == cedula).exists():
            raise ValidationFailed(
                _("Ya existe una cuenta con esa cédula."),
                fields={"cedula": _("Ya existe una cuenta con esa cédula.")},
            )
        if User.select().where(User.email == email).exists():
            raise ValidationFailed(
                _("Ya existe una cuenta con ese correo."),
                fields={"email": _("Ya existe una cuenta con ese correo.")},
            )
        user = User(
            full_name=full_name.strip(),
            cedula=cedula,
            email=email,
            role=role,
            institution=institution,
            cargo=cargo or "",
            phone=phone or "",
            mobile=mobile or "",
        )
        if password:
            user.set_password(password)
        try:
            user.save(force_insert=True)
        except peewee.IntegrityError:
            raise Conflict(_("Ya existe una cuenta con esa cédula o ese correo.")) from None
        if invite and not password:
            send_invitation(user)
    return user


def update_user(actor, user_id, changes: dict) -> User:
    """Edit a person: the AGQ anyone; the AIQ internal and focal users of its institution."""
    from email_validator import EmailNotValidError, validate_email

    from ticketing.fields import normalize_phone
    from ticketing.visibility import visible_users

    user = visible_users(actor).where(User.id == user_id).first()
    if user is None:
        raise NotFound(_("Esa persona no existe o no está a su alcance."))
    if actor.role == AIQ:
        if user.role not in (INTERNO, FOCAL) or changes.get("role", user.role) not in (
            INTERNO,
            FOCAL,
        ):
            raise PermissionDenied(_("El AIQ solo gestiona usuarios internos y focales."))
    elif actor.role != AGQ:
        raise PermissionDenied(_("No puede editar personas."))
    errors = {}
    values = {}
    for name, value in changes.items():
        value = value.strip() if isinstance(value, str) else value
        try:
            if name == "cedula":
                value = normalize_cedula(value)
            elif name == "email":
                value = validate_email(value or "", check_deliverability=False).normalized.lower()
            elif name in ("phone", "mobile") and value:
                normalize_phone(value)
            elif name == "role" and value not in ROLES:
                raise FieldError(_("Rol desconocido."))
            elif name == "full_name" and not value:
                raise FieldError(_("Este campo es obligatorio."))
        except FieldError as exc:
            errors[name] = exc.message
            continue
        except EmailNotValidError:
            errors[name] = _("Escriba un correo electrónico válido.")
            continue
        if name in ("full_name", "cedula", "email", "role", "cargo", "phone", "mobile", "active"):
            values[name] = value if value is not None else ""
    if values.get("role") == AGQ and not user.institution.is_sge:
        errors["role"] = _("Los AGQ pertenecen a SGE.")
    if errors:
        raise ValidationFailed(_("Revise los campos marcados."), fields=errors)
    if not values:  # nothing to change (an empty edit): nothing to write
        return user
    with unit_of_work():
        try:
            User.update(**values).where(User.id == user.id).execute()
        except peewee.IntegrityError:
            raise ValidationFailed(
                _("Ya existe una cuenta con esa cédula o ese correo."),
                fields={"email": _("Ya existe una cuenta con esa cédula o ese correo.")},
            ) from None
        # a new role or a deactivation takes effect at once, not at the next sign-in
        if values.get("role", user.role) != user.role or (
            "active" in values and not values["active"] and user.active
        ):
            from ticketing.sessions import revoke_all

            revoke_all(user)
    return User.get_by_id(user.id)


def resend_invitation(actor, user_id) -> User:
    """Mail again the link to set a password, to someone who has not set one yet.

    Whoever may edit the person may: the AGQ anyone, the AIQ internal and focal users of
    its institution.
    """
    from ticketing.visibility import visible_users

    user = visible_users(actor).where(User.id == user_id).first() if actor is not SYSTEM else None
    if user is None:
        raise NotFound(_("Esa persona no existe o no está a su alcance."))
    if actor.role == AIQ:
        if user.role not in (INTERNO, FOCAL):
            raise PermissionDenied(_("El AIQ solo gestiona usuarios internos y focales."))
    elif actor.role != AGQ:
        raise PermissionDenied(_("No puede invitar personas."))
    if not user.active:
        raise Conflict(_("La cuenta está desactivada."))
    if user.password_hash:
        raise Conflict(_("Esa persona ya fijó su contraseña."))
    with unit_of_work():
        send_invitation(user)
    return user
