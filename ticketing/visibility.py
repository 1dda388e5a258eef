"""Who may see what: every path that reads tickets or people starts from these queries."""

from peewee import JOIN

from ticketing.models import (
    AGQ,
    AIQ,
    FOCAL,
    SECOND_LEVEL,
    Institution,
    Queue,
    Ticket,
    TicketType,
    User,
)


def visible_tickets(user):
    """Tickets `user` may see, as a peewee query.

    Internal users see what they raised; focal users and the AIQ see their
    institution's; the AGQ sees what is in SGE's second-level queue.
    """
    query = Ticket.select()
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return query.where(Ticket.id.is_null())  # nothing
    if user.role == AGQ:
        return query.where(Ticket.queue_level == SECOND_LEVEL)
    if user.role in (FOCAL, AIQ):
        return query.where(Ticket.institution == user.institution_id)
    return query.where(Ticket.requester == user.id)


def _figures(model, user):
    """Rows of a figures table (`TicketCount`, `TicketWeek`) with `visible_tickets`' reach,
    per institution and level; None for a person who sees only what they raised."""
    query = model.select()
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return query.where(model.id.is_null())
    if user.role == AGQ:
        return query.where(model.queue_level == SECOND_LEVEL)
    if user.role in (FOCAL, AIQ):
        return query.where(model.institution == user.institution_id)
    return None  # figures are not kept per requester


def visible_ticket_counts(user):
    """The maintained counts (`TicketCount` rows) of the tickets `user` may see, or None."""
    from ticketing.models.stats import TicketCount

    return _figures(TicketCount, user)


def visible_ticket_weeks(user):
    """The maintained weekly figures (`TicketWeek` rows) of the tickets `user` may see."""
    from ticketing.models.stats import TicketWeek

    found = _figures(TicketWeek, user)
    return found if found is not None else TicketWeek.select().where(TicketWeek.id.is_null())


def with_list_relations(query):
    """Join what a list row shows (type, institution, people) to a ticket query, so a list
    page or API page costs the same few queries whatever its size. The version's
    definition (states, labels) comes from `ticketing.definitions.ticket_definition`."""
    requester, assignee = User.alias(), User.alias()
    return (
        query.select_extend(
            TicketType.id,
            TicketType.name,
            TicketType.slug,
            Institution.id,
            Institution.sigla,
            requester.id,
            requester.full_name,
            assignee.id,
            assignee.full_name,
        )
        .join(TicketType, on=(Ticket.type == TicketType.id), attr="type")
        .switch(Ticket)
        .join(Institution, on=(Ticket.institution == Institution.id), attr="institution")
        .switch(Ticket)
        .join(requester, on=(Ticket.requester == requester.id), attr="requester")
        .switch(Ticket)
        .join(
            assignee,
            on=(Ticket.assignee == assignee.id),
            attr="assignee",
            join_type=JOIN.LEFT_OUTER,
        )
    )


def visible_users(user):
    """People `user` may see: the AGQ sees everyone, others their own institution."""
    query = User.select()
    if user is None or not getattr(user, "is_authenticated", False):
        return query.where(User.id.is_null())
    if user.role == AGQ:
        return query
    if user.role in (FOCAL, AIQ):
        return query.where(User.institution == user.institution_id)
    return query.where(User.id == user.id)


def visible_institutions(user):
    """Institutions `user` may see: the AGQ sees all, others only their own."""
    query = Institution.select()
    if user is None or not getattr(user, "is_authenticated", False):
        return query.where(Institution.id.is_null())
    if user.role == AGQ:
        return query
    return query.where(Institution.id == user.institution_id)


def get_visible_ticket(user, ticket_id, *, relations: bool | str = False):
    """The ticket if `user` may see it, else None (callers answer 404 either way).

    `relations`: True joins its type, queue, institution and people (a page that shows
    them costs one query, not five); "institution" joins only its institution (the API,
    which names people from one lookup and the type from the cached definition)."""
    try:
        ticket_id = int(ticket_id)
    except (TypeError, ValueError):
        return None
    query = visible_tickets(user)
    if relations == "institution":
        query = query.select_extend(Institution.id, Institution.sigla).join(
            Institution, on=(Ticket.institution == Institution.id), attr="institution"
        )
    elif relations:
        query = (
            with_list_relations(query)
            .select_extend(Queue.id, Queue.name)
            .switch(Ticket)
            .join(Queue, on=(Ticket.queue == Queue.id), attr="queue")
        )
    return query.where(Ticket.id == ticket_id).first()


def sees_internal(user, ticket) -> bool:
    """Internal notes are for support staff, never for the ticket's requester."""
    return user.role in (FOCAL, AIQ, AGQ) and user.id != ticket.requester_id


def visible_comments(user, ticket):
    """Comments of a visible ticket that `user` may read."""
    from ticketing.models import Comment

    query = Comment.select().where(Comment.ticket == ticket.id)
    if not sees_internal(user, ticket):
        query = query.where(Comment.internal == False)
    return query.order_by(Comment.created_at, Comment.id)


def visible_events(user, ticket):
    """History rows of a visible ticket that `user` may read."""
    from ticketing.models import TicketEvent

    query = TicketEvent.select().where(TicketEvent.ticket == ticket.id)
    if not sees_internal(user, ticket):
        query = query.where(TicketEvent.public == True)
    return query.order_by(TicketEvent.at, TicketEvent.id)


def visible_attachments(user, ticket):
    """Attachments of a visible ticket that `user` may download."""
    from ticketing.models import Attachment

    query = Attachment.select().where(Attachment.ticket == ticket.id)
    if not sees_internal(user, ticket):
        query = query.where(Attachment.internal == False)
    return query.order_by(Attachment.id)


def visible_articles(user):
    """Knowledge-base articles `user` may read.

    Everyone reads SGE's published articles (no institution) and their institution's
    published ones; an AIQ or focal user also reads their institution's drafts, the AGQ
    SGE's drafts and every institution's published articles.
    """
    from ticketing.models import PUBLISHED, Article

    query = Article.select()
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return query.where(Article.id.is_null())
    published = Article.status == PUBLISHED
    if user.role == AGQ:
        return query.where(published | Article.institution.is_null())
    own = Article.institution == user.institution_id
    if user.role in (FOCAL, AIQ):
        return query.where((published & Article.institution.is_null()) | own)
    return query.where(published & (Article.institution.is_null() | own))


def editable_articles(user):
    """Articles `user` may write: the AGQ SGE's (for everyone), an AIQ or focal user their
    institution's; nobody else any."""
    from ticketing.models import Article

    query = Article.select()
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return query.where(Article.id.is_null())
    if user.role == AGQ:
        return query.where(Article.institution.is_null())
    if user.role in (FOCAL, AIQ):
        return query.where(Article.institution == user.institution_id)
    return query.where(Article.id.is_null())


def visible_replies(user):
    """Canned replies `user` may use: SGE's (no institution) for everyone who answers
    tickets, and an AIQ's or focal user's own institution's; nobody else any."""
    from ticketing.models import CannedReply

    query = CannedReply.select()
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return query.where(CannedReply.id.is_null())
    if user.role == AGQ:
        return query.where(CannedReply.institution.is_null())
    if user.role in (FOCAL, AIQ):
        return query.where(
            CannedReply.institution.is_null() | (CannedReply.institution == user.institution_id)
        )
    return query.where(CannedReply.id.is_null())


def editable_replies(user):
    """Canned replies `user` may write: the AGQ SGE's, an AIQ their institution's."""
    from ticketing.models import CannedReply

    query = CannedReply.select()
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return query.where(CannedReply.id.is_null())
    if user.role == AGQ:
        return query.where(CannedReply.institution.is_null())
    if user.role == AIQ:
        return query.where(CannedReply.institution == user.institution_id)
    return query.where(CannedReply.id.is_null())


def editable_queues(user):
    """Queues whose business calendar `user` may edit: the AGQ SGE's and every
    institution's (SGE sets them up), an AIQ their own institution's; nobody else any."""
    from ticketing.models import Queue

    query = Queue.select()
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return query.where(Queue.id.is_null())
    if user.role == AGQ:
        return query
    if user.role == AIQ:
        return query.where(Queue.institution == user.institution_id)
    return query.where(Queue.id.is_null())
