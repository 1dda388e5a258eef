"""The outbox (sent, pending and failed mail, with re-send), inbound mail kept for inspection,
and the mail template editor: AGQ only."""

from flask import flash, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from wtforms import SelectField, TextAreaField, validators

from admin.base import ScopedModelView
from notifications import templates as mail_templates
from notifications.jobs import resend
from notifications.scope import visible_inbound, visible_outbox
from ticketing.errors import DomainError, ValidationFailed
from ticketing.fields import choice_list
from ticketing.models import (
    AGQ,
    FAILED,
    PENDING,
    SENT,
    InboundMail,
    NotificationTemplate,
    Outbox,
    TicketType,
)
from ticketing.outbox import KEPT, SENDING

ACCEPTED, REFUSED = InboundMail.ACCEPTED, InboundMail.REFUSED

STATUS_LABELS = {
    PENDING: _l("Pendiente"),
    SENDING: _l("Enviando"),
    SENT: _l("Enviado"),
    KEPT: _l("Registrado sin enviar (no hay servidor de correo)"),
    FAILED: _l("Fallido"),
}
STATUS_BADGES = {
    PENDING: "warning",
    SENDING: "info",
    SENT: "success",
    KEPT: "secondary",
    FAILED: "danger",
}
HIDDEN_BODY_EVENTS = {"invitation", "password_reset"}  # personal links to set a password


def _status(view, context, model, name):
    return Markup('<span class="badge badge-{}">{}</span>').format(
        STATUS_BADGES.get(model.status, "secondary"), STATUS_LABELS.get(model.status, model.status)
    )


def _ticket(view, context, model, name):
    if not model.ticket_id:
        return ""
    return Markup('<a href="{}">MESA-{}</a>').format(
        url_for("ticket.details", ticket_id=model.ticket_id), model.ticket_id
    )


def _body(view, context, model, name):
    if model.event in HIDDEN_BODY_EVENTS:
        return _("(oculto: contiene un enlace personal para crear la contraseña)")
    return Markup('<pre class="mb-0" style="white-space: pre-wrap">{}</pre>').format(model.body)


class OutboxView(ScopedModelView):
    """Every notification mail: its status, attempts and last error; failed ones re-sent."""

    roles = (AGQ,)
    can_create = can_edit = can_delete = False
    can_view_details = True
    list_template = "mesa/outbox_list.html"
    column_list = [
        "created_at",
        "event",
        "recipient",
        "ticket",
        "status",
        "attempts",
        "sent_at",
        "last_error",
    ]
    column_details_list = [
        "created_at",
        "event",
        "template_type",
        "locale",
        "recipient",
        "ticket",
        "status",
        "attempts",
        "sent_at",
        "last_error",
        "message_id",
        "subject",
        "body",
    ]
    column_labels = {
        "created_at": _l("Creado"),
        "event": _l("Evento"),
        "template_type": _l("Tipo de ticket"),
        "locale": _l("Idioma"),
        "recipient": _l("Destinatario"),
        "ticket": _l("Ticket"),
        "status": _l("Estado"),
        "attempts": _l("Intentos"),
        "sent_at": _l("Enviado / intento"),
        "last_error": _l("Último error"),
        "message_id": _l("Message-ID"),
        "subject": _l("Asunto"),
        "body": _l("Texto"),
    }
    column_formatters = {"status": _status, "ticket": _ticket}
    column_formatters_detail = {"status": _status, "ticket": _ticket, "body": _body}
    column_sortable_list = ["created_at", "event", "recipient", "status", "attempts", "sent_at"]
    column_default_sort = ("created_at", True)
    column_searchable_list = ["recipient", "subject"]
    column_filters = ["status", "event"]

    def scope(self):
        return visible_outbox(current_user)

    @action(
        "resend",
        _l("Reenviar"),
        _l("¿Reenviar los correos fallidos seleccionados?"),
    )
    def action_resend(self, ids):
        try:
            count = resend(current_user, self.scoped_ids(ids))
        except DomainError as exc:
            flash(exc.message, "error")
            return
        if count:
            flash(_("%(n)s correo(s) fallido(s) puestos de nuevo en la cola de envío.", n=count))
        else:
            flash(_("Solo se reenvían correos fallidos."), "warning")


INBOUND_LABELS = {ACCEPTED: _l("Aceptado"), REFUSED: _l("Rechazado")}
RAW_SHOWN = 200 * 1024  # characters of a stored message shown on its page


def _inbound_status(view, context, model, name):
    badge = "success" if model.status == ACCEPTED else "danger"
    return Markup('<span class="badge badge-{}">{}</span>').format(
        badge, INBOUND_LABELS.get(model.status, model.status)
    )


def _raw(view, context, model, name):
    text = bytes(model.raw or b"").decode("utf-8", "replace")
    cut = ""
    if len(text) > RAW_SHOWN:
        cut = _("\n[… %(n)s caracteres más]", n=len(text) - RAW_SHOWN)
    return Markup('<pre class="mb-0" style="white-space: pre-wrap">{}{}</pre>').format(
        text[:RAW_SHOWN], cut
    )


class InboundMailView(ScopedModelView):
    """Every message fed to `mail-in`, kept whatever became of it: why it was refused, or its ticket."""

    list_template = "mesa/model_list.html"  # labelled search, named row checkboxes

    roles = (AGQ,)
    can_create = can_edit = can_delete = False
    can_view_details = True
    action_disallowed_list = ["delete"]
    column_list = ["received_at", "sender", "recipient", "subject", "status", "reason", "ticket"]
    column_details_list = [
        "received_at",
        "sender",
        "recipient",
        "subject",
        "message_id",
        "status",
        "reason",
        "ticket",
        "raw",
    ]
    column_labels = {
        "received_at": _l("Recibido"),
        "sender": _l("Remitente"),
        "recipient": _l("Destinatario"),
        "subject": _l("Asunto"),
        "message_id": _l("Message-ID"),
        "status": _l("Estado"),
        "reason": _l("Motivo"),
        "ticket": _l("Ticket"),
        "raw": _l("Mensaje tal como llegó"),
    }
    column_formatters = {"status": _inbound_status, "ticket": _ticket}
    column_formatters_detail = {"status": _inbound_status, "ticket": _ticket, "raw": _raw}
    column_sortable_list = ["received_at", "sender", "status"]
    column_default_sort = ("received_at", True)
    column_searchable_list = ["sender", "subject", "reason"]
    column_filters = ["status"]

    def scope(self):
        return visible_inbound(current_user)

    def get_query(self):
        # the list never loads the stored messages themselves (up to MAX_MAIL_IN_KB each)
        listed = [f for f in InboundMail._meta.sorted_fields if f.name != "raw"]
        return visible_inbound(current_user, *listed)


class MailTemplateView(ScopedModelView):
    """Mail templates per event, ticket type and language, with a preview; AGQ only."""

    list_template = "mesa/model_list.html"  # labelled search, named row checkboxes

    roles = (AGQ,)
    can_delete = True
    can_view_details = False
    action_disallowed_list = []
    edit_template = "mesa/mail_template_edit.html"
    create_template = "mesa/mail_template_create.html"
    column_list = ["event", "type_slug", "locale", "subject", "preview"]
    column_labels = {
        "event": _l("Evento"),
        "type_slug": _l("Tipo de ticket"),
        "locale": _l("Idioma"),
        "subject": _l("Asunto"),
        "text": _l("Texto"),
        "html": _l("HTML"),
        "preview": _l("Vista previa"),
    }
    column_descriptions = {
        "type_slug": _l("Vacío: para todos los tipos."),
    }
    column_formatters = {
        "type_slug": lambda v, c, m, n: m.type_slug or _("(todos)"),
        "preview": lambda v, c, m, n: Markup('<a href="{}" target="_blank">{}</a>').format(
            url_for(".preview_view", id=m.id), _("Ver")
        ),
    }
    column_sortable_list = ["event", "type_slug", "locale"]
    column_default_sort = [("event", False), ("type_slug", False), ("locale", False)]
    column_searchable_list = ["event", "subject", "text"]
    column_filters = ["event", "locale", "type_slug"]
    form_columns = ["event", "type_slug", "locale", "subject", "text", "html"]
    form_overrides = {
        "event": SelectField,
        "type_slug": SelectField,
        "locale": SelectField,
        "text": TextAreaField,
        "html": TextAreaField,
    }
    form_args = {
        "event": {"label": _l("Evento"), "validate_choice": False},
        "type_slug": {"label": _l("Tipo de ticket"), "validate_choice": False},
        "locale": {"label": _l("Idioma"), "validate_choice": False},
        "subject": {"label": _l("Asunto"), "validators": [validators.InputRequired()]},
        "text": {"label": _l("Texto"), "validators": [validators.InputRequired()]},
        "html": {"label": _l("HTML (opcional)"), "validators": [validators.Optional()]},
    }
    form_widget_args = {"text": {"rows": 12}, "html": {"rows": 12}}

    def scope(self):
        if not current_user.is_authenticated or current_user.role != AGQ:
            return NotificationTemplate.select().where(NotificationTemplate.id.is_null())
        return NotificationTemplate.select()

    def _choices(self, form, obj=None):
        events = dict(mail_templates.EVENTS)
        if obj is not None and obj.event not in events:
            events[obj.event] = obj.event
        form.event.choices = choice_list((k, f"{k} — {v}") for k, v in events.items())
        form.type_slug.choices = [("", _("(todos los tipos)"))] + [
            (t.slug, f"{t.slug} — {t.name}")
            for t in TicketType.select().order_by(TicketType.order, TicketType.slug)
        ]
        form.locale.choices = [("es", "Español"), ("en", "English")]
        return form

    def create_form(self, obj=None):
        return self._choices(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._choices(super().edit_form(obj), obj)

    def _values(self, form):
        return {name: form[name].data for name in self.form_columns}

    def _refuse(self, form, exc):
        flash(exc.message, "error")
        for name, message in getattr(exc, "fields", {}).items():
            if name in form:
                form[name].errors = [message]

    def create_model(self, form):
        try:
            return mail_templates.save_template(current_user, None, **self._values(form))
        except DomainError as exc:
            self._refuse(form, exc)
            return False

    def update_model(self, form, model):
        try:
            mail_templates.save_template(current_user, model.id, **self._values(form))
        except DomainError as exc:
            self._refuse(form, exc)
            return False
        return True

    @expose("/preview/", methods=["GET", "POST"])
    def preview_view(self):
        """Render a draft (POST, from the form) or a saved template (GET ?id=) with sample data."""
        if request.method == "POST":
            values = {k: request.form.get(k, "") for k in ("subject", "text", "html")}
        else:
            template = self.get_one(request.args.get("id", ""))
            if template is None:
                return self.render("mesa/mail_template_preview.html", missing=True)
            values = {"subject": template.subject, "text": template.text, "html": template.html}
        try:
            result, errors = mail_templates.preview(**values), {}
        except ValidationFailed as exc:
            result, errors = None, exc.fields or {"text": exc.message}
        return self.render(
            "mesa/mail_template_preview.html",
            result=result,
            errors=errors,
            sample=mail_templates.SAMPLE_CONTEXT,
            missing=False,
        )


def register(admin) -> None:
    """Mount the outbox, the inbound mail and the mail template editor."""
    from admin import SETTINGS

    admin.add_view(
        OutboxView(
            Outbox,
            name=_l("Correo saliente"),
            endpoint="outbox",
            url="/correo-saliente",
            category=SETTINGS,
        )
    )
    admin.add_view(
        InboundMailView(
            InboundMail,
            name=_l("Correo entrante"),
            endpoint="inbound_mail",
            url="/correo-entrante",
            category=SETTINGS,
        )
    )
    admin.add_view(
        MailTemplateView(
            NotificationTemplate,
            name=_l("Plantillas de correo"),
            endpoint="mail_templates",
            url="/plantillas-correo",
            category=SETTINGS,
        )
    )
