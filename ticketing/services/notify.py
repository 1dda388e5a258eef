"""Who is told what: the people a ticket's mail goes to and the mail itself (an outbox row)."""

import contextlib
import contextvars

from ticketing.models import AGQ, AIQ, FOCAL, INTERNO, SECOND_LEVEL, Ticket, User
from ticketing.outbox import queue_mail
from ticketing.services.common import SYSTEM, definition
from ticketing.urls import public_url


def ticket_context(ticket: Ticket, actor=None, **extra) -> dict:
    """What a mail template may say about the ticket (and `extra`)."""
    defn = definition(ticket)
    state = next((s for s in defn["states"] if s["key"] == ticket.state), {"label": ticket.state})
    url = public_url(f"/ticket/{ticket.id}/")
    context = {
        "reference": ticket.reference,
        "title": ticket.title,
        "type_name": defn["name"],
        "state": state["label"],
        "institution": ticket.institution.sigla,
        "url": url,
        "actor": actor.full_name if actor not in (SYSTEM, None) else "Mesa",
        "due_at": ticket.due_at.strftime("%Y-%m-%d") if ticket.due_at else "",
    }
    context.update(extra)
    return context


def recipients(ticket: Ticket, roles, *, public=True, exclude=None) -> list[User]:
    """People to tell, by role token, deduplicated; only the ticket's institution or SGE.

    With `public=False` (an internal note) requesters and internal users are left out.
    """
    roles = set(roles)
    wanted = User.select().where(User.active == True)
    clauses = []
    if "requester" in roles:
        clauses.append(User.id == ticket.requester_id)
    if "assignee" in roles and ticket.assignee_id:
        clauses.append(User.id == ticket.assignee_id)
    if "queue" in roles:
        if ticket.queue_level == SECOND_LEVEL:
            clauses.append(User.role == AGQ)
        else:
            clauses.append(
                (User.institution == ticket.institution_id) & (User.role.in_([FOCAL, AIQ]))
            )
    if "aiq" in roles:
        clauses.append((User.institution == ticket.institution_id) & (User.role == AIQ))
    if "focal" in roles:
        clauses.append((User.institution == ticket.institution_id) & (User.role == FOCAL))
    if "agq" in roles:
        clauses.append(User.role == AGQ)
    if not clauses:
        return []
    where = clauses[0]
    for clause in clauses[1:]:
        where |= clause
    people = []
    for user in wanted.where(where).order_by(User.id):
        if exclude is not None and user.id == exclude:
            continue
        if user.institution_id != ticket.institution_id and user.role != AGQ:
            continue  # never outside the ticket's institution or SGE
        if not public and (user.role == INTERNO or user.id == ticket.requester_id):
            continue
        people.append(user)
    return people


# (ticket id, person id) already mailed during the transition being applied
_told: contextvars.ContextVar[set | None] = contextvars.ContextVar("told", default=None)


@contextlib.contextmanager
def one_mail_per_person():
    """Within it, `notify(..., skip_told=True)` leaves out people already mailed about the ticket."""
    token = _told.set(set())
    try:
        yield
    finally:
        _told.reset(token)


def notify(event, ticket, roles, actor=None, *, public=True, extra=None, skip_told=False):
    """Mail `event` about `ticket` to the people `roles` name (never the actor).

    With `skip_told`, people a transition's effects already mailed about this ticket are
    left out: one action, one mail per person.
    """
    exclude = actor.id if actor not in (SYSTEM, None) else None
    context = ticket_context(ticket, actor, **(extra or {}))
    slug = definition(ticket)["slug"]
    told = _told.get()
    for user in recipients(ticket, roles, public=public, exclude=exclude):
        if told is not None:
            if skip_told and (ticket.id, user.id) in told:
                continue
            told.add((ticket.id, user.id))
        queue_mail(event, user, ticket=ticket, context=context, template_type=slug)
