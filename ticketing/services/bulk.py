"""Bulk actions on a queue: the same change to several tickets, each through its own service.

Every ticket named must be one the actor may see, or nothing is written at all (a list
only shows visible tickets, so another institution's id can only come from a forged
form). Each row then goes through `assign` or `transition` in its own transaction, so
one row's refusal (a guard, a stale state) is reported for that row and the others stand.
"""

from dataclasses import dataclass

from flask_babel import gettext as _

from ticketing.errors import DomainError, NotFound, ValidationFailed
from ticketing.models import Ticket
from ticketing.services.common import whole_number
from ticketing.services.tickets import assign
from ticketing.services.workflow import transition
from ticketing.visibility import visible_tickets

BULK_MAX = 100  # tickets one bulk action may name (a page of the queue holds fewer)
ASSIGN_ME, ASSIGN, TRANSITION = "asignarme", "asignar", "transicion"


@dataclass(frozen=True)
class RowResult:
    ticket_id: int
    reference: str
    refusal: str | None  # None: done

    @property
    def done(self) -> bool:
        return self.refusal is None


def _ids(ticket_ids) -> list[int]:
    ids: list[int] = []
    for value in ticket_ids or []:
        number = whole_number(value)
        if number is None or number == 0:
            raise NotFound(_("Uno o más tickets no existen o no están a su alcance."))
        if number not in ids:
            ids.append(number)
    if not ids:
        message = _("Elija al menos un ticket.")
        raise ValidationFailed(message, fields={"rowid": message})
    if len(ids) > BULK_MAX:
        message = _("Elija como máximo %(n)s tickets a la vez.", n=BULK_MAX)
        raise ValidationFailed(message, fields={"rowid": message})
    return ids


def bulk_action(
    actor, ticket_ids, action: str, *, assignee_id=None, transition_name="", comment=""
) -> list[RowResult]:
    """Apply `action` (asignarme, asignar, transicion) to each ticket; one result per row."""
    ids = _ids(ticket_ids)
    if action not in (ASSIGN_ME, ASSIGN, TRANSITION):
        message = _("Elija una acción.")
        raise ValidationFailed(message, fields={"accion": message})
    if action == ASSIGN and not assignee_id:
        message = _("Elija a quién asignar.")
        raise ValidationFailed(message, fields={"asignado": message})
    if action == TRANSITION and not (transition_name or "").strip():
        message = _("Elija la acción a realizar.")
        raise ValidationFailed(message, fields={"transicion": message})
    found = {t.id: t for t in visible_tickets(actor).select(Ticket.id).where(Ticket.id.in_(ids))}
    references = {ticket_id: ticket.reference for ticket_id, ticket in found.items()}
    if len(references) != len(ids):
        # nothing is written: some id names a ticket this person may not see
        raise NotFound(
            _("Uno o más tickets no existen o no están a su alcance: no se cambió ninguno.")
        )
    results = []
    for ticket_id in ids:
        try:
            if action == ASSIGN_ME:
                assign(actor, ticket_id, actor.id)
            elif action == ASSIGN:
                assign(actor, ticket_id, assignee_id)
            else:
                transition(actor, ticket_id, transition_name.strip(), comment=comment or None)
        except DomainError as exc:
            results.append(RowResult(ticket_id, references[ticket_id], exc.message))
        else:
            results.append(RowResult(ticket_id, references[ticket_id], None))
    return results
