"""The workflow engine: which transitions a ticket offers and taking one (guards, then effects)."""

from flask_babel import gettext as _

from ticketing import search
from ticketing.errors import Conflict, GuardFailed, NotFound, PermissionDenied, ValidationFailed
from ticketing.models import ACTIVE_CATEGORIES, DONE, REJECTED, Comment, Ticket, now
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
from ticketing.services.effects import apply_effect
from ticketing.services.guards import guard_failure, guard_kind
from ticketing.services.notify import notify, one_mail_per_person
from ticketing.services.tickets import add_comment


def available_transitions(actor, ticket: Ticket, comment=None) -> list[dict]:
    """Transitions from the ticket's state, each with whether `actor` may take it and why not."""
    defn = definition(ticket)
    result = []
    for tr in defn["transitions"]:
        if tr.get("from") and ticket.state not in tr["from"]:
            continue
        if not tr.get("from") and ticket.state_category not in ACTIVE_CATEGORIES:
            continue
        reason = None
        if not role_allowed(actor, ticket, tr.get("roles") or []):
            reason = _("Su rol no puede realizar esta acción.")
        else:
            for guard in tr.get("guards", []):
                if guard_kind(guard) == "comment_required":
                    continue  # checked when the comment is given
                reason = guard_failure(actor, ticket, guard, comment)
                if reason:
                    break
        needs_comment = any(guard_kind(g) == "comment_required" for g in tr.get("guards", []))
        result.append(
            {**tr, "allowed": reason is None, "reason": reason, "needs_comment": needs_comment}
        )
    return result


def transition(actor, ticket_id, name, *, comment=None, expected_version=None):
    """Take a named transition, if its roles and guards allow; run its effects."""
    ticket = ticket_for(actor, ticket_id)
    with unit_of_work():
        apply_transition(actor, ticket, name, comment, expected_version)
    return ticket


def apply_transition(actor, ticket, name, comment, expected_version, *, check_roles=True):
    """Take transition `name` inside the caller's transaction (`check_roles=False`: the system
    resolving a parent on its child's behalf)."""
    defn = definition(ticket)
    tr = next((t for t in defn["transitions"] if t["name"] == name), None)
    if tr is None:
        raise NotFound(_("Esa acción no existe para este tipo de ticket."))
    if (tr.get("from") and ticket.state not in tr["from"]) or (
        not tr.get("from") and ticket.state_category not in ACTIVE_CATEGORIES
    ):
        raise Conflict(_("Esa acción ya no está disponible en el estado actual."))
    if check_roles and not role_allowed(actor, ticket, tr.get("roles") or []):
        raise PermissionDenied(_("Su rol no puede realizar esta acción."))
    for guard in tr.get("guards", []):
        failure = guard_failure(actor, ticket, guard, comment)
        if failure:
            raise GuardFailed(failure, guard=guard if isinstance(guard, str) else guard["kind"])
    target = _state(defn, tr["to"])
    before = ticket.state
    updates = {"state": target["key"], "state_category": target["category"]}
    if target["category"] in (DONE, REJECTED):
        updates["closed_at"] = now()
        updates["waiting_on"] = None
    else:
        updates["closed_at"] = None
    save_ticket(ticket, expected_version, **updates)
    comment = (comment or "").strip()
    if comment:
        Comment.create(
            ticket=ticket.id,
            author=actor.id if actor is not SYSTEM else None,
            body=comment,
            internal=False,
        )
        search.index_ticket(ticket)
    add_history(
        ticket,
        actor,
        "transition",
        {
            "name": name,
            "label": tr["label"],
            "from": before,
            "to": target["key"],
            "comment": comment,
        },
    )
    with one_mail_per_person():
        for effect in tr.get("effects", []):
            apply_effect(actor, ticket, effect, comment=comment, transition=tr)
        notify(
            "rejected" if target["category"] == REJECTED else "state_changed",
            ticket,
            ["requester"],
            actor,
            extra={"transition": tr["label"], "comment": comment},
            skip_told=True,
        )
    return ticket


def reply_by_mail(actor, ticket_id, body, files=()) -> Ticket:
    """A reply by mail: from the requester, it takes the transition marked `on_reply` that the
    ticket offers them now, with the reply as its comment; otherwise it is a plain comment."""
    ticket = ticket_for(actor, ticket_id)
    body = (body or "").strip()
    marked = (
        [
            tr
            for tr in available_transitions(actor, ticket, comment=body)
            if tr["allowed"] and any(guard_kind(g) == "on_reply" for g in tr.get("guards", []))
        ]
        if body and actor is not SYSTEM and actor.id == ticket.requester_id
        else []
    )
    if not marked:
        # a reply of attachments alone still says so in the conversation
        add_comment(actor, ticket.id, body or "(adjuntos)", files=files, source="mail")
        return ticket
    return _answer_and_take(actor, ticket, marked[0]["name"], body, files, None, source="mail")


def answer_and_transition(
    actor, ticket_id, name, body, *, files=(), internal=False, expected_version=None, source="web"
) -> Ticket:
    """Answer and take a transition in one step ("responder y resolver"): the answer is the
    transition's comment, so its guards see it and its mail carries it; files go with it.
    The answer is public: a transition is never taken with an internal note."""
    ticket = ticket_for(actor, ticket_id)
    if internal:
        message = _("Una nota interna no cambia el estado: quite la acción o la marca de nota.")
        raise ValidationFailed(message, fields={"internal": message})
    return _answer_and_take(actor, ticket, name, body, files, expected_version, source=source)


def _answer_and_take(actor, ticket, name, body, files, expected_version, *, source):
    body = (body or "").strip()
    if not body:
        raise ValidationFailed(
            _("Escriba un comentario."), fields={"body": _("Escriba un comentario.")}
        )
    with unit_of_work():
        apply_transition(actor, ticket, name, body, expected_version)
        answer = (
            Comment.select()
            .where((Comment.ticket == ticket.id) & (Comment.author == actor.id))
            .order_by(Comment.id.desc())
            .first()
        )
        if source != "web":
            Comment.update(source=source).where(Comment.id == answer.id).execute()
        for upload in files:
            store_attachment(ticket, upload, actor, comment=answer)
        if files:
            search.index_ticket(ticket)
    return ticket


def _state(defn: dict, key: str) -> dict:
    for state in defn["states"]:
        if state["key"] == key:
            return state
    raise Conflict(_("Estado desconocido: %(s)s", s=key))
