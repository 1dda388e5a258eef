"""Webhooks for SGE's own systems: the endpoints the AGQ registers, the URL rule, and the
deliveries a ticket's event records in its transaction.

What is delivered, and why:
- ticket events told through `notify`/`tell` (everything that mails about a ticket), one
  delivery per (event, ticket) and endpoint per unit of work, even when nobody is mailed;
- only while the ticket is in SGE's second-level queue (what `visible_tickets` shows the
  AGQ): an institution's first-level tickets are not SGE's to see, not even when SGE's
  answer returns to one (`returned` on the first-level parent of an escalation);
- internal notes too, flagged `"internal": true`: the AGQ reads a ticket's internal notes;
- never mail without a ticket (invitations, password resets): it carries personal links.
Deadline reminders (queued by the reminder job, not through `notify`) are not delivered.
"""

import datetime as dt
import ipaddress
import re
import secrets
import uuid
from urllib.parse import urlsplit

from flask import current_app, has_app_context
from flask_babel import gettext as _

from ticketing.errors import NotFound, PermissionDenied, ValidationFailed
from ticketing.models import (
    AGQ,
    SECOND_LEVEL,
    Ticket,
    WebhookDelivery,
    WebhookEndpoint,
    now,
)
from ticketing.models.webhooks import WEBHOOK_FAILED, WEBHOOK_PENDING, WEBHOOK_SENT
from ticketing.outbox import first_in_unit, queue_webhooks, unit_of_work
from ticketing.services.common import SYSTEM, definition
from ticketing.urls import public_url

URL_MAX = 2000
DESCRIPTION_MAX = 200
EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
PERSONAL_EVENTS = {"invitation", "password_reset"}  # personal links: never to a webhook
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
FIRST_ATTEMPT_GRACE_SECONDS = 60  # the after-commit dispatch goes first; then the sweeper


def url_refusal(url: str, *, allow_http: bool | None = None) -> str | None:
    """Why `url` may not receive webhooks, or None when it may.

    The one rule, for the form and for every delivery: https to any host; plain http only
    to 127.0.0.1, [::1] or localhost, and only with WEBHOOK_ALLOW_HTTP (tests); never a
    URL with credentials in it, a fragment, or no host.
    """
    if allow_http is None:
        allow_http = bool(has_app_context() and current_app.config.get("WEBHOOK_ALLOW_HTTP"))
    text = (url or "").strip()
    if not text:
        return _("Indique la URL.")
    if len(text) > URL_MAX:
        return _("La URL es demasiado larga (máximo %(n)s caracteres).", n=URL_MAX)
    if any(ch.isspace() or ord(ch) < 32 for ch in text):
        return _("La URL no puede tener espacios.")
    try:
        parts = urlsplit(text)
        port = parts.port  # a malformed port raises here
    except ValueError:
        return _("La URL no es válida.")
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return _("La URL no puede llevar usuario ni contraseña.")
    if not host:
        return _("La URL no tiene servidor.")
    if parts.fragment:
        return _("La URL no puede tener fragmento (#).")
    if port == 0:
        return _("La URL no es válida.")
    if scheme == "https":
        return None
    if scheme == "http" and allow_http and _is_loopback(host):
        return None
    if scheme == "http" and allow_http:
        return _("Por http solo se admite 127.0.0.1, [::1] o localhost.")
    return _("Solo se admiten URL https.")


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_HOSTS:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address in (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))


def _is_agq(user) -> bool:
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.active
        and user.role == AGQ
    )


def visible_endpoints(user):
    """Webhook endpoints `user` may see and manage, as a query: the AGQ's, all; else none."""
    query = WebhookEndpoint.select()
    return query if _is_agq(user) else query.where(WebhookEndpoint.id.is_null())


def visible_deliveries(user):
    """Webhook deliveries `user` may inspect or send again: the AGQ all of them (each was
    recorded only for what SGE sees, see the module docstring); anyone else none."""
    query = WebhookDelivery.select()
    return query if _is_agq(user) else query.where(WebhookDelivery.id.is_null())


def _require_agq(actor) -> None:
    if actor is SYSTEM or not _is_agq(actor):
        raise PermissionDenied(_("Solo el AGQ administra los webhooks."))


def _clean(url, events, description) -> dict:
    refusal = url_refusal(url)
    if refusal:
        raise ValidationFailed(refusal, fields={"url": refusal})
    chosen = []
    for name in events or []:
        name = str(name).strip()
        if not EVENT_NAME.match(name) or name in PERSONAL_EVENTS:
            message = _("Evento no válido: %(e)s", e=name[:64])
            raise ValidationFailed(message, fields={"events": message})
        if name not in chosen:
            chosen.append(name)
    description = (description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        message = _("La descripción es demasiado larga (máximo %(n)s).", n=DESCRIPTION_MAX)
        raise ValidationFailed(message, fields={"description": message})
    return {"url": url.strip(), "events": chosen, "description": description}


def create_endpoint(actor, *, url, events=(), description="") -> WebhookEndpoint:
    """The AGQ registers an endpoint; its signing secret is generated here."""
    _require_agq(actor)
    values = _clean(url, events, description)
    with unit_of_work():
        return WebhookEndpoint.create(
            **values, secret=secrets.token_urlsafe(32), created_by=actor.id, active=True
        )


def update_endpoint(actor, endpoint_id, *, url, events=(), description="", active=True):
    """The AGQ changes an endpoint's URL, events, description or turns it off (or on)."""
    _require_agq(actor)
    values = _clean(url, events, description)
    with unit_of_work():
        endpoint = visible_endpoints(actor).where(WebhookEndpoint.id == endpoint_id).first()
        if endpoint is None:
            raise NotFound(_("El webhook no existe."))
        WebhookEndpoint.update(**values, active=bool(active)).where(
            WebhookEndpoint.id == endpoint.id
        ).execute()
    return WebhookEndpoint.get_by_id(endpoint.id)


def rotate_secret(actor, endpoint_id) -> WebhookEndpoint:
    """A new signing secret for an endpoint: the old one stops verifying at once."""
    _require_agq(actor)
    with unit_of_work():
        rows = (
            WebhookEndpoint.update(secret=secrets.token_urlsafe(32))
            .where(WebhookEndpoint.id == endpoint_id)
            .execute()
        )
        if rows != 1:
            raise NotFound(_("El webhook no existe."))
    return WebhookEndpoint.get_by_id(endpoint_id)


def send_again(actor, delivery_ids) -> int:
    """The AGQ sends deliveries again (sent or failed): back to pending, dispatched after commit.

    The event keeps its id, so a receiver that already has it can tell it is the same.
    """
    _require_agq(actor)
    ids = [int(i) for i in delivery_ids]
    with unit_of_work():
        rows = [
            d.id
            for d in visible_deliveries(actor)
            .select(WebhookDelivery.id)
            .where(
                WebhookDelivery.id.in_(ids)
                & WebhookDelivery.status.in_([WEBHOOK_FAILED, WEBHOOK_SENT])
            )
        ]
        if rows:
            WebhookDelivery.update(
                status=WEBHOOK_PENDING, attempts=0, last_error="", next_attempt_at=now()
            ).where(
                WebhookDelivery.id.in_(rows)
                & WebhookDelivery.status.in_([WEBHOOK_FAILED, WEBHOOK_SENT])
            ).execute()
            queue_webhooks(rows)
    return len(rows)


def delivered_to_sge(event: str, ticket: Ticket) -> bool:
    """Whether SGE's systems hear of `event` on `ticket` (see the module docstring)."""
    if event in PERSONAL_EVENTS:
        return False
    return ticket.queue_level == SECOND_LEVEL


def record_ticket_event(event, ticket, actor=None, *, public=True, extra=None) -> list[int]:
    """Write the deliveries of a ticket's event to every endpoint that wants it.

    Called from `notify`/`tell` inside the change's transaction; a second call for the
    same (event, ticket) in one unit of work (other recipients) writes nothing.
    """
    if not delivered_to_sge(event, ticket):
        return []
    if not first_in_unit(("webhook", event, ticket.id)):
        return []
    endpoints = [e for e in WebhookEndpoint.select().where(WebhookEndpoint.active == True)]
    endpoints = [e for e in endpoints if e.wants(event)]
    if not endpoints:
        return []
    event_id = uuid.uuid4().hex
    payload = ticket_payload(event_id, event, ticket, actor, public=public, extra=extra)
    moment = now()
    grace = moment + dt.timedelta(seconds=FIRST_ATTEMPT_GRACE_SECONDS)
    ids = []
    for endpoint in endpoints:
        row = WebhookDelivery.create(
            endpoint=endpoint.id,
            event=event,
            ticket=ticket.id,
            payload=payload,
            event_id=event_id,
            status=WEBHOOK_PENDING,
            next_attempt_at=grace,
            created_at=moment,
        )
        ids.append(row.id)
    queue_webhooks(ids)
    return ids


def ticket_payload(event_id, event, ticket, actor=None, *, public=True, extra=None) -> dict:
    """The JSON a ticket's event is delivered as.

    {"id": event id, "event", "occurred_at": ISO 8601, "internal": an internal note's event,
    "ticket": {id, reference, title, type (slug), state, institution (sigla), queue_level,
    url}, "actor": {id, name} or null (the system), "data": {transition, comment?}}
    """
    defn = definition(ticket)
    extra = extra or {}
    data = {"transition": str(extra.get("transition") or "")}
    if extra.get("comment"):
        data["comment"] = str(extra["comment"])
    return {
        "id": event_id,
        "event": event,
        "occurred_at": now().isoformat(),
        "internal": not public,
        "ticket": {
            "id": ticket.id,
            "reference": ticket.reference,
            "title": ticket.title,
            "type": defn["slug"],
            "state": ticket.state,
            "institution": ticket.institution.sigla,
            "queue_level": ticket.queue_level,
            "url": public_url(f"/ticket/{ticket.id}/"),
        },
        "actor": (
            {"id": actor.id, "name": actor.full_name} if actor not in (SYSTEM, None) else None
        ),
        "data": data,
    }
