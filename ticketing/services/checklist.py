"""Ticking a ticket's checklist items, with their evidence and dates."""

from flask_babel import gettext as _

from ticketing import search
from ticketing.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ticketing.fields import FieldError, clean_value
from ticketing.models import ACTIVE_CATEGORIES, now
from ticketing.outbox import unit_of_work
from ticketing.services.attachments import store_attachment
from ticketing.services.common import (
    SYSTEM,
    add_history,
    definition,
    role_allowed,
    save_ticket,
    ticket_for,
)
from ticketing.services.notify import notify

SCHEDULE_FIELD = {"name": "scheduled_at", "label": "Fecha", "kind": "datetime", "required": True}


def set_checklist_item(
    actor, ticket_id, key, done: bool, *, comment=None, attachment=None, scheduled_at=None
):
    """Tick or untick a checklist item (with its evidence), or set its date."""
    ticket = ticket_for(actor, ticket_id)
    defn = definition(ticket)
    item = next((i for i in defn["checklist"] if i["key"] == key), None)
    if item is None:
        raise NotFound(_("Ese ítem no está en la lista de verificación."))
    if not role_allowed(actor, ticket, item.get("roles") or []):
        raise PermissionDenied(_("Su rol no puede marcar este ítem."))
    if ticket.state_category not in ACTIVE_CATEGORIES:
        raise Conflict(_("El ticket está cerrado."))
    comment = (comment or "").strip()
    if done and item.get("evidence") == "comment" and not comment:
        raise ValidationFailed(
            _("Este ítem requiere un comentario como evidencia."),
            fields={"comment": _("Escriba la evidencia.")},
        )
    if done and item.get("evidence") == "attachment" and attachment is None:
        raise ValidationFailed(
            _("Este ítem requiere un archivo como evidencia."),
            fields={"attachment": _("Adjunte la evidencia.")},
        )
    if scheduled_at is not None and not item.get("schedulable"):
        raise ValidationFailed(_("Este ítem no lleva fecha."))
    if scheduled_at is not None:  # it is mailed to people: a date, never free text
        try:
            scheduled_at = clean_value(SCHEDULE_FIELD, scheduled_at)
        except FieldError as exc:
            raise ValidationFailed(exc.message, fields={"scheduled_at": exc.message}) from None
    with unit_of_work():
        state = dict(ticket.checklist.get(key) or {})
        before = bool(state.get("done"))
        state["done"] = bool(done)
        state["by"] = actor.id if actor is not SYSTEM else None
        state["by_name"] = actor.full_name if actor is not SYSTEM else "Mesa"
        state["at"] = now().isoformat()
        if comment:
            state["comment"] = comment
        if attachment is not None:
            stored = store_attachment(ticket, attachment, actor, checklist_key=key)
            state["attachment_id"] = stored.id
            state["filename"] = stored.filename
            search.index_ticket(ticket)
        schedule_changed = False
        if scheduled_at is not None:
            schedule_changed = state.get("scheduled_at") != scheduled_at
            state["scheduled_at"] = scheduled_at
        checklist = dict(ticket.checklist)
        checklist[key] = state
        save_ticket(ticket, None, checklist=checklist)
        if before != bool(done):
            add_history(
                ticket,
                actor,
                "checklist",
                {
                    "item": key,
                    "label": item["label"],
                    "from": before,
                    "to": bool(done),
                    "comment": comment,
                },
            )
        if schedule_changed:
            add_history(
                ticket,
                actor,
                "scheduled",
                {"item": key, "label": item["label"], "at": state["scheduled_at"]},
            )
            schedule = [
                {
                    "label": i["label"],
                    "hours": i.get("hours"),
                    "at": (checklist.get(i["key"]) or {}).get("scheduled_at", ""),
                }
                for i in defn["checklist"]
                if i.get("schedulable")
            ]
            notify(
                "course_dates_set",
                ticket,
                ["requester", "aiq"],
                actor,
                extra={"schedule": schedule},
            )
    return ticket
