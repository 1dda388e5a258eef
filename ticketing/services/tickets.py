"""Tickets: which types one may open, opening, editing fields, assigning and commenting."""

import datetime as dt

from flask import current_app
from flask_babel import gettext as _

from ticketing import search, stats
from ticketing.definitions import current_version, may_open
from ticketing.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ticketing.fields import UploadedFile, clean_values, is_blank
from ticketing.models import (
    ACTIVE_CATEGORIES,
    AGQ,
    AIQ,
    FIRST_LEVEL,
    FOCAL,
    SECOND_LEVEL,
    Comment,
    Institution,
    Ticket,
    TicketType,
    User,
    now,
)
from ticketing.outbox import unit_of_work
from ticketing.services.attachments import store_attachment, store_field_files
from ticketing.services.common import (
    SYSTEM,
    add_history,
    definition,
    is_agent,
    people_for,
    queue_for,
    save_ticket,
    ticket_for,
    whole_number,
)
from ticketing.services.effects import apply_effect
from ticketing.services.notify import mentioned, notify, one_mail_per_person, tell
from ticketing.services.rollout import stage_refusal


def openable_types(actor, *, for_user=None):
    """Ticket types `actor` may open (or, an AGQ, register for `for_user`), in menu order."""
    person = for_user or actor
    if for_user is not None and actor.role != AGQ:
        return []
    result = []
    for ticket_type in (
        TicketType.select()
        .where(TicketType.active == True)
        .order_by(TicketType.order, TicketType.name)
    ):
        if person.role not in (ticket_type.open_roles or []):
            continue
        if for_user is not None and ticket_type.queue_level != SECOND_LEVEL:
            continue  # the AGQ registers only what reached SGE
        if stage_refusal(ticket_type.on_open, person.institution) is not None:
            continue
        result.append(ticket_type)
    return result


def open_ticket(
    actor,
    type_slug,
    title,
    raw_fields=None,
    *,
    source="web",
    on_behalf_of=None,
    files=(),
):
    """Open a ticket of a type `actor` may open; it lands in the type's queue.

    `files` are kept as attachments of the ticket itself (a mail's attachments).

    An AGQ may register it `on_behalf_of` a person whose role may open the type (a request
    that reached SGE by mail or on paper): that person is the requester, the AGQ stays on
    record as who registered it.
    """
    return _open(
        actor, type_slug, title, raw_fields, source=source, on_behalf_of=on_behalf_of, files=files
    )


def open_linked_ticket(
    actor, type_slug, title, raw_fields=None, *, institution_id, requester, parent=None
):
    """Open a ticket as an effect does: in `institution_id` for `requester`, under `parent`.

    Whether the requester's role may open the type is not asked (the workflow opens it);
    the ticket may open with required fields blank, as a mail's does.
    """
    link = {"institution_id": institution_id, "requester": requester, "parent": parent}
    return _open(actor, type_slug, title, raw_fields, source="effect", on_behalf_of=None, link=link)


def _open(actor, type_slug, title, raw_fields, *, source, on_behalf_of, files=(), link=None):
    raw_fields = dict(raw_fields or {})
    ticket_type = TicketType.get_or_none(TicketType.slug == type_slug)
    if ticket_type is None or not ticket_type.active:
        raise NotFound(_("No existe ese tipo de ticket."))
    version = current_version(ticket_type)
    defn = version.definition
    if on_behalf_of is not None and link is None:
        if actor is SYSTEM or actor.role != AGQ:
            raise PermissionDenied(_("Solo el AGQ registra tickets a nombre de otra persona."))
        person = on_behalf_of
        if not isinstance(person, User):
            person = User.get_or_none(User.id == int(person))
        if person is None or not person.active:
            raise NotFound(_("Esa persona no existe."))
        if not may_open(person, defn):
            raise PermissionDenied(_("Esa persona no puede abrir tickets de este tipo."))
        if defn["queue_level"] != SECOND_LEVEL:
            raise PermissionDenied(
                _("Solo se registra a nombre de otra persona lo que llega a SGE.")
            )
        link = {"institution_id": person.institution_id, "requester": person}
    elif link is None and not may_open(actor, defn):
        raise PermissionDenied(_("Su rol no puede abrir tickets de este tipo."))
    institution_id = link["institution_id"] if link else actor.institution_id
    requester = link["requester"] if link else actor
    # the institution's stage is checked before the form: filling it in would be in vain
    refusal = stage_refusal(defn.get("on_open"), Institution.get_by_id(institution_id))
    if refusal is not None:
        raise Conflict(refusal)
    errors = {}
    title = (title or "").strip()
    if not title:
        errors["title"] = _("Este campo es obligatorio.")
    elif len(title) > 255:
        errors["title"] = _("Máximo %(n)s caracteres.", n=255)
    values, field_errors = clean_values(
        defn["fields"],
        raw_fields,
        people=people_for(defn, institution_id),
        max_mb=current_app.config["MAX_ATTACHMENT_MB"],
    )
    if source in ("mail", "effect"):
        # a mail, or a step opened by another ticket's effect, cannot fill every required
        # field: the ticket opens incomplete and the `fields_complete` guard keeps it from
        # closing until someone completes it
        missing = {f["name"] for f in defn["fields"] if f.get("required")}
        field_errors = {
            k: v
            for k, v in field_errors.items()
            if not (k in missing and _is_blank_name(defn, k, raw_fields))
        }
    errors.update(field_errors)
    if errors:
        raise ValidationFailed(_("Revise los campos marcados."), fields=errors)
    initial = next(s for s in defn["states"] if s.get("initial"))
    with unit_of_work():
        queue = queue_for(institution_id, defn["queue_level"])
        ticket = Ticket.create(
            type=ticket_type,
            type_version=version,
            title=title,
            fields={k: v for k, v in values.items() if not isinstance(v, UploadedFile)},
            checklist={},
            state=initial["key"],
            state_category=initial["category"],
            queue=queue,
            queue_level=queue.level,
            institution=institution_id,
            requester=requester.id,
            parent=link.get("parent") if link else None,
            due_at=(now() + dt.timedelta(days=defn["deadline_days"]))
            if defn.get("deadline_days")
            else None,
        )
        stats.track(None, stats.snapshot(ticket))
        if any(isinstance(v, UploadedFile) for v in values.values()):
            ticket.fields = store_field_files(ticket, values, actor)
            ticket.save()
        for upload in files:
            store_attachment(ticket, upload, actor)
        search.index_ticket(ticket)
        created = {"type": defn["slug"], "source": source, "state": initial["key"]}
        if on_behalf_of is not None:
            created["on_behalf_of"] = requester.id
        add_history(ticket, actor, "created", created)
        for effect in defn.get("on_open", []):
            apply_effect(actor, ticket, effect, comment=None)
        # "we received your ticket" tells the reference to whoever did not see it given: a
        # mail's sender, a person an AGQ registered it for; not someone who opened it on
        # the web or the API, nor the requester of a step another ticket opened (that
        # type's on_open says what to tell them)
        if source == "mail" or on_behalf_of is not None:
            notify("ticket_opened", ticket, ["requester"], SYSTEM)
        notify("ticket_opened_queue", ticket, ["queue"], actor)
    return ticket


def _is_blank_name(defn: dict, name: str, raw: dict) -> bool:
    field = next(f for f in defn["fields"] if f["name"] == name)
    return is_blank(field, raw.get(name))


def update_fields(actor, ticket_id, raw_fields: dict, expected_version: int, title=None):
    """Change some field values (and the title) in one transaction, refusing a stale edit;
    each changed value gets its own history row."""
    ticket = ticket_for(actor, ticket_id)
    if not (
        is_agent(actor, ticket)
        or (
            actor is not SYSTEM
            and actor.id == ticket.requester_id
            and ticket.state_category in ACTIVE_CATEGORIES
        )
    ):
        raise PermissionDenied(_("No puede editar este ticket."))
    if ticket.state_category not in ACTIVE_CATEGORIES:
        raise Conflict(_("El ticket está cerrado."))
    defn = definition(ticket)
    values, errors = clean_values(
        defn["fields"],
        raw_fields,
        people=people_for(defn, ticket.institution_id),
        max_mb=current_app.config["MAX_ATTACHMENT_MB"],
        partial=True,
    )
    if title is not None and not title.strip():
        errors["title"] = _("Este campo es obligatorio.")
    elif title is not None and len(title.strip()) > 255:
        errors["title"] = _("Máximo %(n)s caracteres.", n=255)
    if errors:
        raise ValidationFailed(_("Revise los campos marcados."), fields=errors)
    with unit_of_work():
        values = store_field_files(ticket, values, actor)
        changes = {}
        new_fields = dict(ticket.fields)
        for name, value in values.items():
            if new_fields.get(name) != value:
                changes[name] = {"from": new_fields.get(name), "to": value}
                new_fields[name] = value
        updates = {"fields": new_fields}
        if title is not None and title.strip() != ticket.title:
            changes["title"] = {"from": ticket.title, "to": title.strip()}
            updates["title"] = title.strip()
        save_ticket(ticket, expected_version, **updates)
        for name, change in changes.items():
            add_history(ticket, actor, "fields_changed", {"changes": {name: change}})
    return ticket


def assign(actor, ticket_id, assignee_id, expected_version=None):
    """Give a ticket to an agent of its current queue (or to nobody)."""
    ticket = ticket_for(actor, ticket_id)
    if not is_agent(actor, ticket):
        raise PermissionDenied(_("Solo quien atiende la cola puede asignar."))
    assignee = None
    if assignee_id:
        person_id = whole_number(assignee_id)
        assignee = User.get_or_none(User.id == person_id) if person_id is not None else None
        if assignee is None or not is_agent(assignee, ticket) or not assignee.active:
            raise ValidationFailed(
                _("Esa persona no atiende esta cola."),
                fields={"assignee": _("Esa persona no atiende esta cola.")},
            )
    with unit_of_work():
        before = ticket.assignee_id
        save_ticket(ticket, expected_version, assignee=assignee.id if assignee else None)
        add_history(
            ticket,
            actor,
            "assigned",
            {
                "from": before,
                "to": assignee.id if assignee else None,
                "to_name": assignee.full_name if assignee else None,
            },
            public=False,
        )
        if assignee and (actor is SYSTEM or assignee.id != actor.id):
            notify("assigned", ticket, ["assignee"], actor)
    return ticket


def eligible_assignees(ticket: Ticket):
    """Agents of the ticket's current queue."""
    return _agents(ticket.queue_level, ticket.institution_id)


def colleagues_who_answer(actor):
    """The agents of the queue `actor` works (the bulk form's "Asignar a…"): SGE's for the
    AGQ, the institution's first level for a focal user or an AIQ; nobody for others."""
    if actor.role == AGQ:
        return _agents(SECOND_LEVEL, None)
    if actor.role in (FOCAL, AIQ):
        return _agents(FIRST_LEVEL, actor.institution_id)
    return User.select().where(User.id.is_null())


def _agents(level: int, institution_id):
    if level == SECOND_LEVEL:
        query = User.select().where(User.role == AGQ)
    else:
        query = User.select().where(
            (User.institution == institution_id) & (User.role.in_([FOCAL, AIQ]))
        )
    return query.where(User.active == True).order_by(User.full_name)


def add_comment(actor, ticket_id, body, *, internal=False, files=(), source="web"):
    """A public comment or an internal note, with optional attachments."""
    ticket = ticket_for(actor, ticket_id)
    body = (body or "").strip()
    if not body and not files:
        raise ValidationFailed(
            _("Escriba un comentario."), fields={"body": _("Escriba un comentario.")}
        )
    if (
        internal
        and actor is not SYSTEM
        and not (actor.role in (FOCAL, AIQ, AGQ) and actor.id != ticket.requester_id)
    ):
        raise PermissionDenied(_("Solo el personal de soporte puede escribir notas internas."))
    with unit_of_work():
        comment = Comment.create(
            ticket=ticket.id,
            author=actor.id if actor is not SYSTEM else None,
            body=body,
            internal=internal,
            source=source,
        )
        for upload in files:
            store_attachment(ticket, upload, actor, comment=comment, internal=internal)
        search.index_ticket(ticket)
        Ticket.update(updated_at=now()).where(Ticket.id == ticket.id).execute()
        add_history(
            ticket,
            actor,
            "comment",
            {"comment_id": comment.id, "internal": internal},
            public=not internal,
        )
        roles = ["requester", "assignee", "queue"] if not internal else ["assignee", "queue"]
        with one_mail_per_person():  # a colleague named in a note is told of the mention only
            if internal:
                people = mentioned(ticket, body, actor)
                tell("mention", ticket, people, actor, public=False, extra={"comment": body})
            notify(
                "comment_internal" if internal else "comment_public",
                ticket,
                roles,
                actor,
                public=not internal,
                extra={"comment": body},
                skip_told=True,
            )
    return comment
