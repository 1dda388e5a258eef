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
from ticketing.services.notify import notify, one_mail_per_person

SCHEDULE_FIELD = {"name": "scheduled_at", "label": "Fecha", "kind": "datetime", "required": True}
BATCH_MAX = 100  # items one request may change; a checklist has a handful


def set_checklist_item(
    actor, ticket_id, key, done: bool, *, comment=None, attachment=None, scheduled_at=None
):
    """Tick or untick a checklist item (with its evidence), or set its date."""
    change = {
        "item": key,
        "done": done,
        "comment": comment,
        "attachment": attachment,
        "scheduled_at": scheduled_at,
    }
    return set_checklist_items(actor, ticket_id, [change])


def _checked(actor, ticket, defn, change: dict, seen: set) -> dict:
    """One requested change, validated: the item's definition and clean values."""
    key = change.get("item")
    item = next((i for i in defn["checklist"] if i["key"] == key), None)
    if item is None:
        raise NotFound(_("Ese ítem no está en la lista de verificación."))
    if key in seen:
        message = _("Cada ítem puede aparecer una sola vez.")
        raise ValidationFailed(message, fields={key: message})
    seen.add(key)
    if not role_allowed(actor, ticket, item.get("roles") or []):
        raise PermissionDenied(_("Su rol no puede marcar este ítem."))
    if ticket.state_category not in ACTIVE_CATEGORIES:
        raise Conflict(_("El ticket está cerrado."))
    done = bool(change.get("done"))
    comment = (change.get("comment") or "").strip()
    attachment = change.get("attachment")
    scheduled_at = change.get("scheduled_at")
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
    return {
        "key": key,
        "item": item,
        "done": done,
        "comment": comment,
        "attachment": attachment,
        "scheduled_at": scheduled_at,
    }


def set_checklist_items(actor, ticket_id, changes: list[dict], *, expected_version=None):
    """Several checklist changes at once: all or none, in one transaction.

    Each change is a dict with `item` (the key), `done`, and optionally `comment`,
    `attachment` and `scheduled_at`, as `set_checklist_item` takes them. Every change
    gets its own history row; people are told once: one "course dates" mail with the
    whole schedule however many dates changed, and one mail per person in all.
    """
    ticket = ticket_for(actor, ticket_id)
    defn = definition(ticket)
    if not changes:
        message = _("Indique al menos un ítem.")
        raise ValidationFailed(message, fields={"items": message})
    if len(changes) > BATCH_MAX:
        message = _("Máximo %(n)s ítems por solicitud.", n=BATCH_MAX)
        raise ValidationFailed(message, fields={"items": message})
    seen: set = set()
    checked = [_checked(actor, ticket, defn, change, seen) for change in changes]
    with unit_of_work(), one_mail_per_person():
        checklist = dict(ticket.checklist)
        history = []
        schedule_changed = False
        indexed = False
        for change in checked:
            key, item = change["key"], change["item"]
            state = dict(checklist.get(key) or {})
            before = bool(state.get("done"))
            state["done"] = change["done"]
            state["by"] = actor.id if actor is not SYSTEM else None
            state["by_name"] = actor.full_name if actor is not SYSTEM else "Mesa"
            state["at"] = now().isoformat()
            if change["comment"]:
                state["comment"] = change["comment"]
            if change["attachment"] is not None:
                stored = store_attachment(ticket, change["attachment"], actor, checklist_key=key)
                state["attachment_id"] = stored.id
                state["filename"] = stored.filename
                indexed = True
            if before != change["done"]:
                data = {"item": key, "label": item["label"], "from": before}
                data.update(to=change["done"], comment=change["comment"])
                history.append(("checklist", data))
            if change["scheduled_at"] is not None:
                if state.get("scheduled_at") != change["scheduled_at"]:
                    schedule_changed = True
                    data = {"item": key, "label": item["label"], "at": change["scheduled_at"]}
                    history.append(("scheduled", data))
                state["scheduled_at"] = change["scheduled_at"]
            checklist[key] = state
        save_ticket(ticket, expected_version, checklist=checklist)
        if indexed:
            search.index_ticket(ticket)
        for kind, data in history:
            add_history(ticket, actor, kind, data)
        if schedule_changed:
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
                skip_told=True,
            )
    return ticket
