"""Who is told what: the people a ticket's event reaches, as a notice in the app (the bell)
and, unless they turned that event's mail off, as mail (an outbox row). SGE's webhook
endpoints hear of the same events (`ticketing.services.webhooks`)."""

import contextlib
import contextvars
import re

from ticketing.models import (
    AGQ,
    AIQ,
    FOCAL,
    INTERNO,
    SECOND_LEVEL,
    Notice,
    NoticePreference,
    Ticket,
    User,
    now,
)
from ticketing.outbox import queue_mail
from ticketing.services.common import SYSTEM, definition
from ticketing.services.webhooks import record_ticket_event
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
    return [
        user
        for user in wanted.where(where).order_by(User.id)
        if _may_be_told(user, ticket, public=public, exclude=exclude)
    ]


def _may_be_told(user: User, ticket: Ticket, *, public: bool, exclude) -> bool:
    if exclude is not None and user.id == exclude:
        return False
    if user.institution_id != ticket.institution_id and user.role != AGQ:
        return False  # never outside the ticket's institution or SGE
    return public or (user.role != INTERNO and user.id != ticket.requester_id)


# "@focal" names the colleague whose mail address starts "focal@"; an address written out
# (focal@insta.ec) is not a mention: the "@" must not follow a character of the address
MENTION = re.compile(r"(?<![A-Za-z0-9._%+@-])@([A-Za-z0-9._%+-]+)")
MENTIONS_MAX = 20  # distinct names read from one note


def mentioned(ticket: Ticket, body: str, actor=None) -> list[User]:
    """The colleagues an internal note on `ticket` names as `@<local part of their mail>`.

    Only people who read the ticket's internal notes are found (its institution's focal
    users and AIQ; the AGQ too once it is in SGE's queue), never the requester or the
    actor; any other name is ignored, saying nothing of whether it exists.
    """
    names = []
    for match in MENTION.finditer(body or ""):
        name = match.group(1).rstrip(".").lower()
        if name and name not in names:
            names.append(name)
    if not names:
        return []
    names = names[:MENTIONS_MAX]
    readers = (User.institution == ticket.institution_id) & User.role.in_([FOCAL, AIQ])
    if ticket.queue_level == SECOND_LEVEL:
        readers |= User.role == AGQ
    exclude = actor.id if actor not in (SYSTEM, None) else None
    return [
        user
        for user in User.select().where((User.active == True) & readers).order_by(User.id)
        if user.email.split("@", 1)[0].lower() in names
        and _may_be_told(user, ticket, public=False, exclude=exclude)
    ]


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
    """Tell `event` about `ticket` to the people `roles` name (never the actor).

    With `skip_told`, people a transition's effects already told about this ticket are
    left out: one action, one mail per person.
    """
    exclude = actor.id if actor not in (SYSTEM, None) else None
    people = recipients(ticket, roles, public=public, exclude=exclude)
    # SGE's systems hear of the event even when no person is mailed
    record_ticket_event(event, ticket, actor, public=public, extra=extra)
    _tell(event, ticket, people, actor, public=public, extra=extra, skip_told=skip_told)


def tell(event, ticket, people, actor=None, *, public=True, extra=None, skip_told=False):
    """Tell `event` about `ticket` to each of `people`: a notice, and a mail unless that
    person turned this event's mail off. The actor, people outside the ticket's
    institution or SGE and, for an internal event, its requester and internal users are
    left out whoever the caller named."""
    chosen = _tell(event, ticket, people, actor, public=public, extra=extra, skip_told=skip_told)
    if chosen:  # SGE's systems hear of an event told to someone
        record_ticket_event(event, ticket, actor, public=public, extra=extra)


def _tell(event, ticket, people, actor, *, public, extra, skip_told) -> list[User]:
    """Write the notices and mail of `tell`; returns the people told."""
    exclude = actor.id if actor not in (SYSTEM, None) else None
    told = _told.get()
    chosen = []
    for user in people:
        if not _may_be_told(user, ticket, public=public, exclude=exclude):
            continue
        if told is not None:
            if skip_told and (ticket.id, user.id) in told:
                continue
            told.add((ticket.id, user.id))
        chosen.append(user)
    if not chosen:
        return chosen
    context = ticket_context(ticket, actor, **(extra or {}))
    slug = definition(ticket)["slug"]
    no_mail = _mail_turned_off(event, chosen)
    moment = now()
    Notice.insert_many(
        [
            {
                "user": user.id,
                "ticket": ticket.id,
                "event": event,
                "actor": exclude,
                "context": {
                    "reference": ticket.reference,
                    "title": ticket.title,
                    "what": _what(extra or {}),
                },
                "created_at": moment,
            }
            for user in chosen
        ]
    ).execute()
    for user in chosen:
        if user.id not in no_mail:
            queue_mail(event, user, ticket=ticket, context=context, template_type=slug)
    return chosen


WHAT_MAX = 200  # characters of a comment a notice repeats; the ticket has the rest


def _what(extra: dict) -> str:
    """The detail a notice shows under its event: the transition and the comment's start."""
    parts = [str(extra.get("transition") or "").strip()]
    comment = " ".join(str(extra.get("comment") or "").split())
    parts.append(comment if len(comment) <= WHAT_MAX else comment[: WHAT_MAX - 1] + "…")
    return " — ".join(p for p in parts if p)


def _mail_turned_off(event: str, people) -> set[int]:
    """Ids of `people` who chose not to get `event` by mail (no row: mail on)."""
    query = NoticePreference.select(NoticePreference.user).where(
        (NoticePreference.event == event)
        & (NoticePreference.mail == False)
        & NoticePreference.user.in_([u.id for u in people])
    )
    return {row.user_id for row in query}
