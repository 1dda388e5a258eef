"""Which outbox rows a person may see: the AGQ, for tickets it sees and for mail with no ticket."""

from ticketing.models import AGQ, Outbox, Ticket
from ticketing.visibility import visible_tickets


def visible_outbox(user):
    """Outbox rows `user` may inspect or re-send, as a peewee query (only the AGQ has any)."""
    query = Outbox.select()
    if (
        user is None
        or not getattr(user, "is_authenticated", False)
        or not user.active
        or user.role != AGQ
    ):
        return query.where(Outbox.id.is_null())
    tickets = visible_tickets(user).select(Ticket.id)
    return query.where(Outbox.ticket.is_null() | Outbox.ticket.in_(tickets))
