"""Guard kinds: each one refuses a transition with a reason, or lets it pass.

A workflow names guards by kind (a string, or a dict with `kind` and its settings). A new
kind is one function registered here with `@guard("kind")`; it must also be described in
`ticketing.definitions.GUARD_KINDS` so the designer and the schema accept it.
"""

import datetime as dt
from collections.abc import Callable

from flask_babel import format_date
from flask_babel import gettext as _

from ticketing.fields import is_blank
from ticketing.models import ACTIVE_CATEGORIES, Ticket, TicketEvent, TrackingItem, now
from ticketing.services.common import SYSTEM, definition

# kind → check(actor, ticket, settings, comment) returning why it refuses, or None
GUARDS: dict[str, Callable] = {}


def guard(kind: str):
    """Register the decorated function as the check of guard `kind`."""

    def register(check):
        GUARDS[kind] = check
        return check

    return register


def guard_kind(spec) -> str | None:
    """The kind a workflow's guard entry names (a bare string or a dict with `kind`)."""
    return spec if isinstance(spec, str) else spec.get("kind")


def guard_failure(actor, ticket, spec, comment) -> str | None:
    """Why the guard `spec` refuses `actor` on `ticket` now, or None if it lets them pass."""
    kind = guard_kind(spec)
    check = GUARDS.get(kind)
    if check is None:
        return _("Condición desconocida: %(k)s", k=kind)
    return check(actor, ticket, spec if isinstance(spec, dict) else {}, comment)


@guard("checklist_complete")
def _checklist_complete(actor, ticket, settings, comment) -> str | None:
    missing = [
        i["label"]
        for i in definition(ticket)["checklist"]
        if i.get("required") and not (ticket.checklist.get(i["key"]) or {}).get("done")
    ]
    if missing:
        return _("Faltan ítems de la lista de verificación: %(items)s", items="; ".join(missing))
    return None


@guard("fields_complete")
def _fields_complete(actor, ticket, settings, comment) -> str | None:
    missing = [
        f["label"]
        for f in definition(ticket)["fields"]
        if f.get("required") and is_blank(f, ticket.fields.get(f["name"]))
    ]
    if missing:
        return _("Faltan campos obligatorios: %(items)s", items="; ".join(missing))
    return None


@guard("comment_required")
def _comment_required(actor, ticket, settings, comment) -> str | None:
    if not (comment or "").strip():
        return _("Esta acción requiere un comentario.")
    return None


@guard("not_requester")
def _not_requester(actor, ticket, settings, comment) -> str | None:
    if actor is not SYSTEM and actor.id in _askers(ticket):
        return _("Quien solicitó o registró esta solicitud no puede aprobarla.")
    return None


@guard("tracking_template_complete")
def _tracking_template_complete(actor, ticket, settings, comment) -> str | None:
    unmet = [
        t.label
        for t in TrackingItem.select()
        .where((TrackingItem.institution == ticket.institution_id) & (TrackingItem.met == False))
        .order_by(TrackingItem.order)
    ]
    if unmet:
        return _(
            "La plantilla de seguimiento tiene ítems sin cumplir: %(items)s",
            items="; ".join(unmet),
        )
    return None


@guard("children_closed")
def _children_closed(actor, ticket, settings, comment) -> str | None:
    if (
        Ticket.select()
        .where((Ticket.parent == ticket.id) & (Ticket.state_category.in_(ACTIVE_CATEGORIES)))
        .exists()
    ):
        return _("Hay tickets vinculados abiertos.")
    return None


# the window of `closed_within` when a process names the kind without `days`
DEFAULT_CLOSED_WITHIN_DAYS = 15


@guard("closed_within")
def _closed_within(actor, ticket, settings, comment) -> str | None:
    days = settings.get("days", DEFAULT_CLOSED_WITHIN_DAYS)
    if ticket.closed_at is None:
        return None
    limit = ticket.closed_at + dt.timedelta(days=days)
    if now() <= limit:
        return None
    return _(
        "El ticket se cerró hace más de %(days)d días: se podía hasta el %(limit)s. "
        "Abra un ticket nuevo.",
        days=days,
        limit=format_date(limit, "long"),
    )


@guard("on_reply")
def _on_reply(actor, ticket, settings, comment) -> str | None:
    # a mark, not a condition: services.reply_by_mail takes the transition that carries it
    return None


def _askers(ticket: Ticket) -> set[int]:
    """Who asked for a ticket: its requester and whoever registered it on their behalf."""
    opened_by = (
        TicketEvent.select(TicketEvent.actor)
        .where((TicketEvent.ticket == ticket.id) & (TicketEvent.kind == "created"))
        .scalar()
    )
    return {ticket.requester_id} | ({opened_by} if opened_by else set())
