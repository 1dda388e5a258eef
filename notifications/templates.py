"""Mail templates as data: the events we send, sample context, validation, preview and save."""

from flask_babel import gettext as _
from jinja2 import TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

from notifications.mailer import GENERIC_EVENT, render_parts
from ticketing.errors import PermissionDenied, ValidationFailed
from ticketing.models import AGQ, NotificationTemplate, TicketType

LOCALES = ("es", "en")

# Every event the product sends, with who gets it (for the editor's menu and the seed check).
EVENTS = {
    "ticket_opened": "Ticket registrado (a quien lo abrió)",
    "ticket_opened_queue": "Ticket nuevo en la cola (a sus agentes)",
    "assigned": "Ticket asignado (a la persona asignada)",
    "comment_public": "Comentario público",
    "comment_internal": "Nota interna (solo personal de soporte)",
    "mention": "Mención en una nota interna (a la persona mencionada)",
    "state_changed": "Cambio de estado (a quien lo abrió)",
    "escalated": "Escalado a SGE (a los AGQ)",
    "returned": "Devuelto al primer nivel",
    "course_dates_set": "Fechas de los cursos",
    "invitation": "Invitación a Mesa (enlace para crear la contraseña)",
    "password_reset": "Recuperar la contraseña (enlace para elegir una nueva)",
    "deadline_near": "Plazo por vencer",
    "deadline_passed": "Plazo vencido",
    "approved": "Solicitud aprobada",
    "rejected": "Solicitud rechazada",
    "setup_ready": "Ambiente de capacitación listo",
    "production_approved": "Paso a producción aprobado",
    GENERIC_EVENT: "Cualquier evento sin plantilla propia",
}

SAMPLE_CONTEXT = {
    "reference": "MESA-123",
    "title": "No llega mi documento",
    "type_name": "Soporte de primer nivel",
    "state": "En atención",
    "institution": "MINEJ",
    "url": "https://mesa.example/ticket/123/",
    "actor": "Carla Díaz",
    "due_at": "2025-03-14",
    "comment": "Revisamos la bandeja de salida: el oficio quedó en borradores.",
    "transition": "Atender",
    "schedule": [
        {"label": "Bandeja de entrada", "hours": 4, "at": "2025-03-03T09:00"},
        {"label": "Bandeja de salida", "hours": 4, "at": "2025-03-04T09:00"},
        {"label": "Administración", "hours": 4, "at": ""},
    ],
    "name": "Bruno Castro",
    "email": "aiq@minej.gob.ec",
    "login_url": "https://mesa.example/login",
    "event": "ticket_opened",
}


def template_errors(subject: str, text: str, html: str) -> dict[str, str]:
    """A clear message per part whose Jinja syntax is wrong (or that is missing)."""
    errors = {}
    env = SandboxedEnvironment()
    for name, source in (("subject", subject), ("text", text), ("html", html)):
        if name in ("subject", "text") and not (source or "").strip():
            errors[name] = _("Este campo es obligatorio.")
            continue
        try:
            env.parse(source or "")
        except TemplateSyntaxError as exc:
            errors[name] = _(
                "Plantilla inválida en la línea %(line)s: %(message)s",
                line=exc.lineno,
                message=exc.message,
            )
    return errors


def preview(subject: str, text: str, html: str, context: dict | None = None) -> dict:
    """Render a template draft against sample context; errors come back, nothing is saved."""
    errors = template_errors(subject, text, html)
    if errors:
        raise ValidationFailed(_("La plantilla tiene errores."), fields=errors)
    draft = NotificationTemplate(subject=subject, text=text, html=html or "")
    try:
        rendered = render_parts(draft, {**SAMPLE_CONTEXT, **(context or {})})
    except TemplateError as exc:
        raise ValidationFailed(
            _("La plantilla no se puede mostrar: %(e)s", e=str(exc)),
            fields={"text": str(exc)},
        ) from None
    return dict(zip(("subject", "text", "html"), rendered, strict=True))


def save_template(actor, template_id=None, **values) -> NotificationTemplate:
    """Create or change a mail template (AGQ only); invalid Jinja saves nothing."""
    if actor is None or getattr(actor, "role", None) != AGQ:
        raise PermissionDenied(_("Solo el AGQ edita las plantillas de correo."))
    event = (values.get("event") or "").strip()
    type_slug = (values.get("type_slug") or "").strip()
    locale = (values.get("locale") or "es").strip()
    subject, text, html = values.get("subject"), values.get("text"), values.get("html") or ""
    errors = template_errors(subject, text, html)
    if not event:
        errors["event"] = _("Este campo es obligatorio.")
    if locale not in LOCALES:
        errors["locale"] = _("Idioma desconocido.")
    if type_slug and not TicketType.select().where(TicketType.slug == type_slug).exists():
        errors["type_slug"] = _("Tipo de ticket desconocido.")
    clash = NotificationTemplate.select().where(
        (NotificationTemplate.event == event)
        & (NotificationTemplate.type_slug == type_slug)
        & (NotificationTemplate.locale == locale)
    )
    if template_id is not None:
        clash = clash.where(NotificationTemplate.id != int(template_id))
    if not errors and clash.exists():
        errors["event"] = _("Ya existe una plantilla para ese evento, tipo e idioma.")
    if errors:
        raise ValidationFailed(_("La plantilla tiene errores; no se guardó."), fields=errors)
    fields = {
        "event": event,
        "type_slug": type_slug,
        "locale": locale,
        "subject": subject.strip(),
        "text": text,
        "html": html,
    }
    if template_id is None:
        return NotificationTemplate.create(**fields)
    NotificationTemplate.update(**fields).where(
        NotificationTemplate.id == int(template_id)
    ).execute()
    return NotificationTemplate.get_by_id(int(template_id))
