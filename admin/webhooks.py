"""Webhooks (AGQ only): SGE's endpoints, their signing secret, and every delivery with its
attempts and a "send again". A receiver's answer is never shown: only its status code."""

import json

from flask import flash, make_response, redirect, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import BooleanField, SelectMultipleField, StringField, validators

from admin.base import ScopedModelView, bounded_id
from notifications.mailer import GENERIC_EVENT
from notifications.templates import EVENTS
from ticketing.errors import DomainError
from ticketing.models import AGQ, WebhookDelivery, WebhookEndpoint
from ticketing.models.webhooks import (
    WEBHOOK_FAILED,
    WEBHOOK_PENDING,
    WEBHOOK_SENDING,
    WEBHOOK_SENT,
)
from ticketing.services import webhooks as service

STATUS_LABELS = {
    WEBHOOK_PENDING: _l("Pendiente"),
    WEBHOOK_SENDING: _l("Enviando"),
    WEBHOOK_SENT: _l("Entregado"),
    WEBHOOK_FAILED: _l("Fallido"),
}
STATUS_BADGES = {
    WEBHOOK_PENDING: "warning",
    WEBHOOK_SENDING: "info",
    WEBHOOK_SENT: "success",
    WEBHOOK_FAILED: "danger",
}


# the mail templates' fallback, and what the reminder job mails without `notify`: never delivered
NOT_DELIVERED = {GENERIC_EVENT, "deadline_near", "deadline_passed"}


def event_choices(current=()) -> list[tuple[str, str]]:
    """The events an endpoint may ask for: ticket events (never personal mail)."""
    choices = [
        (key, f"{key} — {label}")
        for key, label in EVENTS.items()
        if key not in service.PERSONAL_EVENTS and key not in NOT_DELIVERED
    ]
    known = {key for key, _label in choices}
    return choices + [(key, key) for key in current or () if key not in known]


def _url_rule(form, field):
    refusal = service.url_refusal(field.data or "")
    if refusal:
        raise validators.ValidationError(refusal)


class EndpointForm(FlaskForm):
    url = StringField(
        _l("URL"),
        validators=[validators.InputRequired(), validators.Length(max=service.URL_MAX), _url_rule],
        description=_l("https://… del sistema de SGE que recibe los eventos."),
    )
    description = StringField(
        _l("Descripción"),
        validators=[validators.Optional(), validators.Length(max=service.DESCRIPTION_MAX)],
    )
    events = SelectMultipleField(
        _l("Eventos"),
        validate_choice=False,  # the service refuses an unknown name, with its message
        description=_l("Ninguno marcado: recibe todos los eventos."),
    )
    active = BooleanField(_l("Activo"), default=True)


def _status(view, context, model, name):
    return Markup('<span class="badge badge-{}">{}</span>').format(
        STATUS_BADGES.get(model.status, "secondary"), STATUS_LABELS.get(model.status, model.status)
    )


def _events(view, context, model, name):
    return ", ".join(model.events or []) or _("(todos)")


def _ticket(view, context, model, name):
    reference = (model.payload or {}).get("ticket", {}).get("reference")
    return reference or (f"MESA-{model.ticket_id}" if model.ticket_id else "")


def _payload(view, context, model, name):
    text = json.dumps(model.payload or {}, ensure_ascii=False, indent=2, sort_keys=True)
    return Markup('<pre class="mb-0" style="white-space: pre-wrap">{}</pre>').format(text)


def _secret(view, context, model, name):
    return Markup("<code>{}</code>").format(model.secret)


class WebhookEndpointView(ScopedModelView):
    """SGE's webhook endpoints: create, edit, turn off; the secret on its own page."""

    roles = (AGQ,)
    can_create = can_edit = True
    can_delete = False
    can_view_details = True
    action_disallowed_list = ["delete"]
    list_template = "mesa/model_list.html"
    details_template = "mesa/webhook_endpoint_details.html"
    column_list = ["url", "description", "events", "active", "created_at"]
    column_details_list = ["url", "description", "events", "active", "secret", "created_at"]
    column_labels = {
        "url": _l("URL"),
        "description": _l("Descripción"),
        "events": _l("Eventos"),
        "active": _l("Activo"),
        "secret": _l("Secreto de firma"),
        "created_at": _l("Creado"),
    }
    column_formatters = {"events": _events}
    column_formatters_detail = {"events": _events, "secret": _secret}
    column_sortable_list = ["url", "active", "created_at"]
    column_default_sort = ("created_at", True)
    column_searchable_list = ["url", "description"]

    def scope(self):
        return service.visible_endpoints(current_user)

    def scaffold_form(self):
        return EndpointForm

    def _choices(self, form, obj=None):
        form.events.choices = event_choices(obj.events if obj is not None else ())
        return form

    def create_form(self, obj=None):
        return self._choices(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._choices(super().edit_form(obj), obj)

    def _values(self, form):
        return {
            "url": form.url.data or "",
            "events": form.events.data or [],
            "description": form.description.data or "",
        }

    def _refuse(self, form, exc):
        flash(exc.message, "error")
        for name, message in getattr(exc, "fields", {}).items():
            if name in form:
                form[name].errors = [message]

    def create_model(self, form):
        try:
            endpoint = service.create_endpoint(current_user, **self._values(form))
        except DomainError as exc:
            self._refuse(form, exc)
            return False
        flash(_("Webhook registrado. Su secreto de firma está en su detalle."), "success")
        return endpoint

    def update_model(self, form, model):
        try:
            service.update_endpoint(
                current_user, model.id, **self._values(form), active=bool(form.active.data)
            )
        except DomainError as exc:
            self._refuse(form, exc)
            return False
        return True

    @expose("/details/")
    def details_view(self):
        # the page shows the signing secret: never keep it in a cache
        response = make_response(super().details_view())
        response.headers["Cache-Control"] = "no-store"
        return response

    @expose("/rotate/", methods=["POST"])
    def rotate_view(self):
        """A new signing secret (POST, CSRF-protected like every form)."""
        endpoint = self.get_one(request.form.get("id", ""))
        if endpoint is None:
            flash(_("El webhook no existe."), "error")
            return redirect(url_for(".index_view"))
        try:
            service.rotate_secret(current_user, endpoint.id)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            flash(_("Nuevo secreto generado: el anterior ya no verifica las firmas."), "success")
        return redirect(url_for(".details_view", id=endpoint.id))


class WebhookDeliveryView(ScopedModelView):
    """Every webhook delivery: status, attempts, last error (never the answer), send again."""

    roles = (AGQ,)
    can_create = can_edit = can_delete = False
    can_view_details = True
    action_disallowed_list = ["delete"]
    list_template = "mesa/webhook_delivery_list.html"
    details_template = "mesa/webhook_delivery_details.html"
    column_list = [
        "created_at",
        "event",
        "endpoint",
        "ticket",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "sent_at",
    ]
    column_details_list = [
        "created_at",
        "event",
        "event_id",
        "endpoint",
        "ticket",
        "status",
        "attempts",
        "last_error",
        "next_attempt_at",
        "claimed_at",
        "sent_at",
        "payload",
    ]
    column_labels = {
        "created_at": _l("Creado"),
        "event": _l("Evento"),
        "event_id": _l("Id del evento (X-Mesa-Delivery)"),
        "endpoint": _l("Webhook"),
        "ticket": _l("Ticket"),
        "status": _l("Estado"),
        "attempts": _l("Intentos"),
        "last_error": _l("Último error"),
        "next_attempt_at": _l("Próximo intento"),
        "claimed_at": _l("Último intento"),
        "sent_at": _l("Entregado"),
        "payload": _l("Contenido (JSON)"),
    }
    column_formatters = {"status": _status, "ticket": _ticket}
    column_formatters_detail = {"status": _status, "ticket": _ticket, "payload": _payload}
    column_sortable_list = ["created_at", "event", "status", "attempts", "sent_at"]
    column_default_sort = ("created_at", True)
    column_searchable_list = ["event", "event_id"]
    column_filters = ["status", "event"]

    def scope(self):
        return service.visible_deliveries(current_user)

    def _send_again(self, ids):
        try:
            count = service.send_again(current_user, self.scoped_ids(ids))
        except DomainError as exc:
            flash(exc.message, "error")
            return 0
        if count:
            flash(_("%(n)s entrega(s) puestas de nuevo en la cola de envío.", n=count), "success")
        else:
            flash(_("Solo se envían de nuevo entregas fallidas o entregadas."), "warning")
        return count

    @action(
        "send_again",
        _l("Enviar de nuevo"),
        _l("¿Enviar de nuevo las entregas seleccionadas?"),
    )
    def action_send_again(self, ids):
        self._send_again(ids)

    @expose("/send-again/", methods=["POST"])
    def send_again_view(self):
        """The details page's "Enviar de nuevo" (POST, CSRF-protected like every form)."""
        delivery_id = bounded_id(request.form.get("id", ""))
        if delivery_id is None or self.get_one(delivery_id) is None:
            flash(_("La entrega no existe."), "error")
            return redirect(url_for(".index_view"))
        self._send_again([delivery_id])
        return redirect(url_for(".details_view", id=delivery_id))


def register(admin) -> None:
    """Mount the webhook endpoints and their deliveries under Configuración."""
    from admin import SETTINGS

    admin.add_view(
        WebhookEndpointView(
            WebhookEndpoint,
            name=_l("Webhooks"),
            endpoint="webhooks",
            url="/webhooks",
            category=SETTINGS,
        )
    )
    admin.add_view(
        WebhookDeliveryView(
            WebhookDelivery,
            name=_l("Entregas de webhooks"),
            endpoint="webhook_deliveries",
            url="/entregas-webhooks",
            category=SETTINGS,
        )
    )
