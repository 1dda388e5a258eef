"""Which mail a person may see: the AGQ, for tickets it sees and for mail with no ticket."""

from ticketing.models import AGQ, InboundMail, Outbox, Ticket
from ticketing.visibility import visible_tickets


def _is_agq(user) -> bool:
    return bool(
        user is not None
        and getattr(user, "is_authenticated", False)
        and user.active
        and user.role == AGQ
    )


def visible_outbox(user):
    """Outbox rows `user` may inspect or re-send, as a peewee query (only the AGQ has any)."""
    query = Outbox.select()
    if not _is_agq(user):
        return query.where(Outbox.id.is_null())
    tickets = visible_tickets(user).select(Ticket.id)
    return query.where(Outbox.ticket.is_null() | Outbox.ticket.in_(tickets))


def visible_inbound(user, *fields):
    """Inbound mail `user` may inspect: the AGQ, refused mail and mail on tickets it sees."""
    query = InboundMail.select(*fields)
    if not _is_agq(user):
        return query.where(InboundMail.id.is_null())
    tickets = visible_tickets(user).select(Ticket.id)
    return query.where(InboundMail.ticket.is_null() | InboundMail.ticket.in_(tickets))
