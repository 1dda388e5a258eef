"""The plantilla de seguimiento: the items SGE checks before an institution goes to production."""

import peewee
from flask_babel import gettext as _

from ticketing.db import db
from ticketing.definitions import ticket_definition
from ticketing.errors import NotFound, PermissionDenied, ValidationFailed
from ticketing.models import (
    ACTIVE_CATEGORIES,
    AGQ,
    DefaultTrackingItem,
    Institution,
    Ticket,
    TicketTypeVersion,
    TrackingItem,
    now,
)
from ticketing.outbox import unit_of_work
from ticketing.services.common import SYSTEM, add_history
from ticketing.services.guards import guard_kind
from ticketing.visibility import visible_institutions


def _tracked_item(actor, item_id) -> TrackingItem:
    if actor is SYSTEM or actor.role != AGQ:
        raise PermissionDenied(_("Solo el AGQ revisa la plantilla de seguimiento."))
    try:
        item = TrackingItem.get_or_none(TrackingItem.id == int(item_id))
    except (TypeError, ValueError):
        item = None
    if (
        item is None
        or not visible_institutions(actor).where(Institution.id == item.institution_id).exists()
    ):
        raise NotFound(_("Ese ítem no existe."))
    return item


def _reviewing_tickets(institution_id: int) -> list[Ticket]:
    """Active tickets of an institution whose workflow checks its plantilla de seguimiento."""
    rows = (
        Ticket.select(Ticket, TicketTypeVersion)
        .join(TicketTypeVersion)
        .where(
            (Ticket.institution == institution_id) & (Ticket.state_category.in_(ACTIVE_CATEGORIES))
        )
    )
    return [
        ticket
        for ticket in rows
        if any(
            guard_kind(g) == "tracking_template_complete"
            for tr in ticket_definition(ticket)["transitions"]
            for g in tr.get("guards", [])
        )
    ]


def _tracking_history(actor, institution_id, data: dict) -> None:
    """The review, item by item, recorded on the tickets that depend on it."""
    for ticket in _reviewing_tickets(institution_id):
        add_history(ticket, actor, "tracking", data)
        Ticket.update(updated_at=now()).where(Ticket.id == ticket.id).execute()


def set_tracking_item(actor, item_id, met: bool, note: str | None = None):
    """The AGQ marks an item of an institution's plantilla de seguimiento met or unmet."""
    item = _tracked_item(actor, item_id)
    with unit_of_work():
        item.met = bool(met)
        item.met_by = actor.id if met else None
        item.met_at = now() if met else None
        if note is not None:
            item.note = note.strip()
        item.save()
        _tracking_history(
            actor,
            item.institution_id,
            {"item": item.id, "label": item.label, "met": item.met, "note": item.note},
        )
    return item


def add_tracking_item(actor, institution_id, label: str):
    """The AGQ adds an item to an institution's plantilla de seguimiento."""
    if actor is SYSTEM or actor.role != AGQ:
        raise PermissionDenied(_("Solo el AGQ edita la plantilla de seguimiento."))
    label = (label or "").strip()
    if not label:
        raise ValidationFailed(_("Escriba el ítem."), fields={"label": _("Escriba el ítem.")})
    if not visible_institutions(actor).where(Institution.id == institution_id).exists():
        raise NotFound(_("La institución no existe."))
    with unit_of_work():
        last = (
            TrackingItem.select(peewee.fn.MAX(TrackingItem.order))
            .where(TrackingItem.institution == institution_id)
            .scalar()
        ) or 0
        item = TrackingItem.create(institution=institution_id, label=label[:255], order=last + 1)
        _tracking_history(
            actor, institution_id, {"item": item.id, "label": item.label, "added": True}
        )
    return item


def remove_tracking_item(actor, item_id) -> None:
    """The AGQ removes an item that does not apply to this institution."""
    item = _tracked_item(actor, item_id)
    with unit_of_work():
        item.delete_instance()
        _tracking_history(
            actor, item.institution_id, {"item": item.id, "label": item.label, "removed": True}
        )


def add_default_tracking_item(actor, label: str) -> DefaultTrackingItem:
    """The AGQ adds an item to the default plantilla new institutions start from."""
    if actor is SYSTEM or actor.role != AGQ:
        raise PermissionDenied(_("Solo el AGQ edita la plantilla de seguimiento."))
    label = (label or "").strip()[:255]
    if not label:
        raise ValidationFailed(_("Escriba el ítem."), fields={"label": _("Escriba el ítem.")})
    with unit_of_work():
        last = DefaultTrackingItem.select(peewee.fn.MAX(DefaultTrackingItem.order)).scalar() or 0
        try:
            with db.atomic():
                return DefaultTrackingItem.create(label=label, order=last + 1)
        except peewee.IntegrityError:
            raise ValidationFailed(
                _("Ese ítem ya está en la plantilla."),
                fields={"label": _("Ese ítem ya está en la plantilla.")},
            ) from None


def remove_default_tracking_item(actor, item_id) -> None:
    """The AGQ removes an item from the default plantilla (institutions keep theirs)."""
    if actor is SYSTEM or actor.role != AGQ:
        raise PermissionDenied(_("Solo el AGQ edita la plantilla de seguimiento."))
    with unit_of_work():
        DefaultTrackingItem.delete().where(DefaultTrackingItem.id == item_id).execute()
