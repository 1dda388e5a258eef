"""What every service needs: the system actor, lookups, who works a ticket, its history
and the optimistic save."""

from flask_babel import gettext as _

from ticketing import search, stats
from ticketing.definitions import ticket_definition
from ticketing.errors import Conflict, NotFound, StaleVersion, ValidationFailed
from ticketing.models import (
    AGQ,
    AIQ,
    FIRST_LEVEL,
    FOCAL,
    SECOND_LEVEL,
    Institution,
    Queue,
    Ticket,
    TicketEvent,
    User,
    now,
)
from ticketing.visibility import get_visible_ticket

SYSTEM = None  # actor of changes made by the system itself (mail, reminders)


def sge() -> Institution:
    """SGE itself: the AGQs' institution, owner of the second-level queue."""
    return Institution.get(Institution.is_sge == True)


def queue_for(institution_id: int, level: int) -> Queue:
    """The queue a ticket of `institution_id` lands in at `level`."""
    if level == SECOND_LEVEL:
        return Queue.get(Queue.level == SECOND_LEVEL)
    queue = Queue.get_or_none((Queue.institution == institution_id) & (Queue.level == FIRST_LEVEL))
    if queue is None:
        raise Conflict(_("La institución no tiene cola de primer nivel."))
    return queue


def people_of(institution_id: int) -> dict[int, str]:
    """Active people of an institution, id → name, for person fields."""
    return {
        u.id: u.full_name
        for u in User.select(User.id, User.full_name)
        .where((User.institution == institution_id) & (User.active == True))
        .order_by(User.full_name)
    }


def people_for(defn: dict, institution_id: int) -> dict[int, str]:
    """`people_of` the institution when the definition has a person field, else nothing."""
    if any(f["kind"] == "person" for f in defn["fields"]):
        return people_of(institution_id)
    return {}


def ticket_for(actor, ticket_id) -> Ticket:
    """The ticket `actor` may see (any ticket for the system), or NotFound."""
    ticket = get_visible_ticket(actor, ticket_id) if actor is not SYSTEM else None
    if actor is SYSTEM:
        ticket = Ticket.get_or_none(Ticket.id == ticket_id)
    if ticket is None:
        raise NotFound(_("El ticket no existe o no está a su alcance."))
    return ticket


def definition(ticket: Ticket) -> dict:
    """The workflow definition of the version the ticket was opened with."""
    return ticket_definition(ticket)


def is_agent(actor, ticket: Ticket) -> bool:
    """Whether `actor` works the queue the ticket is in now."""
    if actor is SYSTEM:
        return True
    if ticket.queue_level == SECOND_LEVEL:
        return actor.role == AGQ
    return actor.role in (FOCAL, AIQ) and actor.institution_id == ticket.institution_id


def role_allowed(actor, ticket: Ticket, roles: list[str]) -> bool:
    """Whether `actor` holds one of `roles` on the ticket (none listed: its queue's agents)."""
    if actor is SYSTEM:
        return True
    if not roles:
        return is_agent(actor, ticket)
    if "requester" in roles and actor.id == ticket.requester_id:
        return True
    return actor.role in roles


def add_history(ticket, actor, kind, data=None, public=True):
    """Record an event in the ticket's history (`public=False`: staff only)."""
    TicketEvent.create(
        ticket=ticket.id,
        actor=actor.id if actor is not SYSTEM else None,
        kind=kind,
        data=data or {},
        public=public,
    )


def whole_number(value) -> int | None:
    """`value` as an id or version (ASCII digits within a 32-bit column), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 2**31 - 1 else None
    text = str(value).strip() if value is not None else ""
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        return None
    return int(text) if int(text) <= 2**31 - 1 else None


def save_ticket(ticket: Ticket, expected_version, **updates):
    """Write `updates` only if the ticket is still at `expected_version`."""
    expected = ticket.version if expected_version is None else whole_number(expected_version)
    if expected is None:  # a forged or mangled form: the page was not read from this ticket
        message = _("La versión del ticket no es válida. Recargue la página.")
        raise ValidationFailed(message, fields={"version": message})
    updates["updated_at"] = now()
    updates["version"] = expected + 1
    before = stats.snapshot(ticket)
    rows = (
        Ticket.update(**updates)
        .where((Ticket.id == ticket.id) & (Ticket.version == expected))
        .execute()
    )
    if rows != 1:
        raise StaleVersion(
            _(
                "Otra persona modificó este ticket mientras usted lo editaba. Recargue e intente de nuevo."
            )
        )
    for key, value in updates.items():
        setattr(ticket, key, value)
    stats.track(before, stats.snapshot(ticket))
    if "title" in updates or "fields" in updates:
        search.index_ticket(ticket)
