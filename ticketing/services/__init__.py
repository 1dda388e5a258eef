"""Every change to a ticket, as one function taking the acting user.

Each checks visibility and permission, applies guards, writes the change, its history row
and its outbox rows in one transaction, and raises a named `DomainError` on refusal.
Views, admin, API and the mail gate only call these.
"""

import contextvars
import datetime as dt
import hashlib

import peewee
from flask import current_app
from flask_babel import gettext as _

from ticketing.attachments import checked_upload
from ticketing.db import db
from ticketing.definitions import current_version, may_open
from ticketing.errors import (
    Conflict,
    GuardFailed,
    NotFound,
    PermissionDenied,
    StaleVersion,
    ValidationFailed,
)
from ticketing.fields import (
    FieldError,
    UploadedFile,
    clean_value,
    clean_values,
    is_blank,
    normalize_cedula,
    normalize_ruc,
)
from ticketing.models import (
    ACTIVE_CATEGORIES,
    AGENT_ROLES,
    AGQ,
    AIQ,
    DONE,
    FIRST_LEVEL,
    FOCAL,
    INTERNO,
    REJECTED,
    ROLES,
    SECOND_LEVEL,
    STAGE_LABELS,
    STAGES,
    Attachment,
    Blob,
    Comment,
    DefaultTrackingItem,
    Institution,
    Queue,
    StageChange,
    Ticket,
    TicketEvent,
    TicketType,
    TicketTypeVersion,
    TrackingItem,
    User,
    now,
)
from ticketing.outbox import queue_mail, unit_of_work
from ticketing.urls import public_url
from ticketing.visibility import get_visible_ticket, visible_institutions, visible_tickets

SYSTEM = None  # actor of changes made by the system itself (mail, reminders)


# ---------------------------------------------------------------- lookups


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


def is_blank_name(defn: dict, name: str, raw: dict) -> bool:
    field = next(f for f in defn["fields"] if f["name"] == name)
    return is_blank(field, raw.get(name))


def _ticket_for(actor, ticket_id) -> Ticket:
    ticket = get_visible_ticket(actor, ticket_id) if actor is not SYSTEM else None
    if actor is SYSTEM:
        ticket = Ticket.get_or_none(Ticket.id == ticket_id)
    if ticket is None:
        raise NotFound(_("El ticket no existe o no está a su alcance."))
    return ticket


def definition(ticket: Ticket) -> dict:
    return ticket.type_version.definition


def _state(defn: dict, key: str) -> dict:
    for state in defn["states"]:
        if state["key"] == key:
            return state
    raise Conflict(_("Estado desconocido: %(s)s", s=key))


def _is_agent(actor, ticket: Ticket) -> bool:
    """Whether `actor` works the queue the ticket is in now."""
    if actor is SYSTEM:
        return True
    if ticket.queue_level == SECOND_LEVEL:
        return actor.role == AGQ
    return actor.role in (FOCAL, AIQ) and actor.institution_id == ticket.institution_id


def _role_allowed(actor, ticket: Ticket, roles: list[str]) -> bool:
    if actor is SYSTEM:
        return True
    if not roles:
        return _is_agent(actor, ticket)
    if "requester" in roles and actor.id == ticket.requester_id:
        return True
    return actor.role in roles


# ---------------------------------------------------------------- history and mail


def _history(ticket, actor, kind, data=None, public=True):
    TicketEvent.create(
        ticket=ticket.id,
        actor=actor.id if actor is not SYSTEM else None,
        kind=kind,
        data=data or {},
        public=public,
    )


def _ticket_context(ticket: Ticket, actor=None, **extra) -> dict:
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


def _notify(event, ticket, roles, actor=None, *, public=True, extra=None, skip_told=False):
    """Mail `event` about `ticket` to the people `roles` name (never the actor).

    With `skip_told`, people a transition's effects already mailed about this ticket are
    left out: one action, one mail per person.
    """
    exclude = actor.id if actor not in (SYSTEM, None) else None
    context = _ticket_context(ticket, actor, **(extra or {}))
    slug = definition(ticket)["slug"]
    told = _told.get()
    for user in recipients(ticket, roles, public=public, exclude=exclude):
        if told is not None:
            if skip_told and (ticket.id, user.id) in told:
                continue
            told.add((ticket.id, user.id))
        queue_mail(event, user, ticket=ticket, context=context, template_type=slug)


# ---------------------------------------------------------------- attachments


def store_attachment(
    ticket,
    upload: UploadedFile,
    actor,
    *,
    field_name=None,
    comment=None,
    checklist_key=None,
    internal=False,
) -> Attachment:
    """Keep an uploaded file with the ticket: checked, typed from its bytes, safely named.

    The one upload path (field files, comment and checklist attachments, mail): raises
    TooLarge or ValidationFailed (keyed by `field_name` for a form field) on refusal.
    """
    try:
        upload = checked_upload(upload, max_mb=current_app.config["MAX_ATTACHMENT_MB"])
    except ValidationFailed as exc:
        if field_name is None:
            raise
        raise ValidationFailed(exc.message, fields={field_name: exc.message}) from None
    digest = hashlib.sha256(upload.data).hexdigest()
    blob = Blob.get_or_none(Blob.sha256 == digest)
    if blob is None:
        blob = Blob.create(sha256=digest, size=len(upload.data), data=upload.data)
    return Attachment.create(
        ticket=ticket.id,
        comment=comment.id if comment else None,
        field_name=field_name,
        checklist_key=checklist_key,
        filename=upload.filename[:255],
        content_type=upload.content_type[:128],
        size=len(upload.data),
        blob=blob,
        internal=internal,
        uploaded_by=actor.id if actor is not SYSTEM else None,
    )


def _store_field_files(ticket, values: dict, actor) -> dict:
    for name, value in list(values.items()):
        if isinstance(value, UploadedFile):
            attachment = store_attachment(ticket, value, actor, field_name=name)
            values[name] = {
                "attachment_id": attachment.id,
                "filename": attachment.filename,
                "size": attachment.size,
            }
    return values


# ---------------------------------------------------------------- opening


def _stage_refusal(effects, institution) -> str | None:
    """Why a `require_stage` effect refuses `institution`, or None."""
    for effect in effects or []:
        if effect.get("kind") == "require_stage" and institution.stage not in effect["stages"]:
            return _(
                "La institución está en la etapa «%(s)s»; esto no corresponde a esa etapa.",
                s=STAGE_LABELS.get(institution.stage, institution.stage),
            )
    return None


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
        if _stage_refusal(ticket_type.on_open, person.institution) is not None:
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
    _effect=None,
):
    """Open a ticket of a type `actor` may open; it lands in the type's queue.

    `files` are kept as attachments of the ticket itself (a mail's attachments).

    An AGQ may register it `on_behalf_of` a person whose role may open the type (a request
    that reached SGE by mail or on paper): that person is the requester, the AGQ stays on
    record as who registered it.
    """
    raw_fields = dict(raw_fields or {})
    ticket_type = TicketType.get_or_none(TicketType.slug == type_slug)
    if ticket_type is None or not ticket_type.active:
        raise NotFound(_("No existe ese tipo de ticket."))
    version = current_version(ticket_type)
    defn = version.definition
    if on_behalf_of is not None and _effect is None:
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
        _effect = {"institution_id": person.institution_id, "requester": person}
    elif _effect is None and not may_open(actor, defn):
        raise PermissionDenied(_("Su rol no puede abrir tickets de este tipo."))
    institution_id = _effect["institution_id"] if _effect else actor.institution_id
    requester = _effect["requester"] if _effect else actor
    # the institution's stage is checked before the form: filling it in would be in vain
    refusal = _stage_refusal(defn.get("on_open"), Institution.get_by_id(institution_id))
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
        people=people_of(institution_id),
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
            if not (k in missing and is_blank_name(defn, k, raw_fields))
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
            parent=_effect.get("parent") if _effect else None,
            due_at=(now() + dt.timedelta(days=defn["deadline_days"]))
            if defn.get("deadline_days")
            else None,
        )
        if any(isinstance(v, UploadedFile) for v in values.values()):
            ticket.fields = _store_field_files(ticket, values, actor)
            ticket.save()
        for upload in files:
            store_attachment(ticket, upload, actor)
        created = {"type": defn["slug"], "source": source, "state": initial["key"]}
        if on_behalf_of is not None:
            created["on_behalf_of"] = requester.id
        _history(ticket, actor, "created", created)
        for effect in defn.get("on_open", []):
            _apply_effect(actor, ticket, effect, comment=None)
        # "we received your ticket" tells the reference to whoever did not see it given: a
        # mail's sender, a person an AGQ registered it for; not someone who opened it on
        # the web or the API, nor the requester of a step another ticket opened (that
        # type's on_open says what to tell them)
        if source == "mail" or on_behalf_of is not None:
            _notify("ticket_opened", ticket, ["requester"], SYSTEM)
        _notify("ticket_opened_queue", ticket, ["queue"], actor)
    return ticket


# ---------------------------------------------------------------- editing


def update_fields(actor, ticket_id, raw_fields: dict, expected_version: int, title=None):
    """Change some field values, refusing a stale edit."""
    ticket = _ticket_for(actor, ticket_id)
    if not (
        _is_agent(actor, ticket)
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
        people=people_of(ticket.institution_id),
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
        values = _store_field_files(ticket, values, actor)
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
        _save(ticket, expected_version, **updates)
        if changes:
            _history(ticket, actor, "fields_changed", {"changes": changes})
    return ticket


def _whole_number(value) -> int | None:
    """`value` as an id or version (ASCII digits within a 32-bit column), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 2**31 - 1 else None
    text = str(value).strip() if value is not None else ""
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        return None
    return int(text) if int(text) <= 2**31 - 1 else None


def _save(ticket: Ticket, expected_version, **updates):
    """Write `updates` only if the ticket is still at `expected_version`."""
    expected = ticket.version if expected_version is None else _whole_number(expected_version)
    if expected is None:  # a forged or mangled form: the page was not read from this ticket
        message = _("La versión del ticket no es válida. Recargue la página.")
        raise ValidationFailed(message, fields={"version": message})
    updates["updated_at"] = now()
    updates["version"] = expected + 1
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


def assign(actor, ticket_id, assignee_id, expected_version=None):
    """Give a ticket to an agent of its current queue (or to nobody)."""
    ticket = _ticket_for(actor, ticket_id)
    if not _is_agent(actor, ticket):
        raise PermissionDenied(_("Solo quien atiende la cola puede asignar."))
    assignee = None
    if assignee_id:
        person_id = _whole_number(assignee_id)
        assignee = User.get_or_none(User.id == person_id) if person_id is not None else None
        if assignee is None or not _is_agent(assignee, ticket) or not assignee.active:
            raise ValidationFailed(
                _("Esa persona no atiende esta cola."),
                fields={"assignee": _("Esa persona no atiende esta cola.")},
            )
    with unit_of_work():
        before = ticket.assignee_id
        _save(ticket, expected_version, assignee=assignee.id if assignee else None)
        _history(
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
            _notify("assigned", ticket, ["assignee"], actor)
    return ticket


def eligible_assignees(ticket: Ticket):
    """Agents of the ticket's current queue."""
    if ticket.queue_level == SECOND_LEVEL:
        query = User.select().where(User.role == AGQ)
    else:
        query = User.select().where(
            (User.institution == ticket.institution_id) & (User.role.in_([FOCAL, AIQ]))
        )
    return query.where(User.active == True).order_by(User.full_name)


def add_comment(actor, ticket_id, body, *, internal=False, files=(), source="web"):
    """A public comment or an internal note, with optional attachments."""
    ticket = _ticket_for(actor, ticket_id)
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
        Ticket.update(updated_at=now()).where(Ticket.id == ticket.id).execute()
        _history(
            ticket,
            actor,
            "comment",
            {"comment_id": comment.id, "internal": internal},
            public=not internal,
        )
        roles = ["requester", "assignee", "queue"] if not internal else ["assignee", "queue"]
        _notify(
            "comment_internal" if internal else "comment_public",
            ticket,
            roles,
            actor,
            public=not internal,
            extra={"comment": body},
        )
    return comment


# ---------------------------------------------------------------- checklist


SCHEDULE_FIELD = {"name": "scheduled_at", "label": "Fecha", "kind": "datetime", "required": True}


def set_checklist_item(
    actor, ticket_id, key, done: bool, *, comment=None, attachment=None, scheduled_at=None
):
    """Tick or untick a checklist item (with its evidence), or set its date."""
    ticket = _ticket_for(actor, ticket_id)
    defn = definition(ticket)
    item = next((i for i in defn["checklist"] if i["key"] == key), None)
    if item is None:
        raise NotFound(_("Ese ítem no está en la lista de verificación."))
    if not _role_allowed(actor, ticket, item.get("roles") or []):
        raise PermissionDenied(_("Su rol no puede marcar este ítem."))
    if ticket.state_category not in ACTIVE_CATEGORIES:
        raise Conflict(_("El ticket está cerrado."))
    comment = (comment or "").strip()
    if done and item.get("evidence") == "comment" and not comment:
        raise ValidationFailed(
            _("Este ítem requiere un comentario como evidencia."),
            fields={"comment": _("Escriba la evidencia.")},
        )
    if done and item.get("evidence") == "attachment" and attachment is None:
        raise ValidationFailed(
            _("Este ítem requiere un archivo como evidencia."),
            fields={"attachment": _("Adjunte la evidencia.")},
        )
    if scheduled_at is not None and not item.get("schedulable"):
        raise ValidationFailed(_("Este ítem no lleva fecha."))
    if scheduled_at is not None:  # it is mailed to people: a date, never free text
        try:
            scheduled_at = clean_value(SCHEDULE_FIELD, scheduled_at)
        except FieldError as exc:
            raise ValidationFailed(exc.message, fields={"scheduled_at": exc.message}) from None
    with unit_of_work():
        state = dict(ticket.checklist.get(key) or {})
        before = bool(state.get("done"))
        state["done"] = bool(done)
        state["by"] = actor.id if actor is not SYSTEM else None
        state["by_name"] = actor.full_name if actor is not SYSTEM else "Mesa"
        state["at"] = now().isoformat()
        if comment:
            state["comment"] = comment
        if attachment is not None:
            stored = store_attachment(ticket, attachment, actor, checklist_key=key)
            state["attachment_id"] = stored.id
            state["filename"] = stored.filename
        schedule_changed = False
        if scheduled_at is not None:
            schedule_changed = state.get("scheduled_at") != scheduled_at
            state["scheduled_at"] = scheduled_at
        checklist = dict(ticket.checklist)
        checklist[key] = state
        _save(ticket, None, checklist=checklist)
        if before != bool(done):
            _history(
                ticket,
                actor,
                "checklist",
                {
                    "item": key,
                    "label": item["label"],
                    "from": before,
                    "to": bool(done),
                    "comment": comment,
                },
            )
        if schedule_changed:
            _history(
                ticket,
                actor,
                "scheduled",
                {"item": key, "label": item["label"], "at": state["scheduled_at"]},
            )
            schedule = [
                {
                    "label": i["label"],
                    "hours": i.get("hours"),
                    "at": (checklist.get(i["key"]) or {}).get("scheduled_at", ""),
                }
                for i in defn["checklist"]
                if i.get("schedulable")
            ]
            _notify(
                "course_dates_set",
                ticket,
                ["requester", "aiq"],
                actor,
                extra={"schedule": schedule},
            )
    return ticket


# ---------------------------------------------------------------- workflow


def _guard_failure(actor, ticket, guard, comment) -> str | None:
    kind = guard if isinstance(guard, str) else guard.get("kind")
    defn = definition(ticket)
    if kind == "checklist_complete":
        missing = [
            i["label"]
            for i in defn["checklist"]
            if i.get("required") and not (ticket.checklist.get(i["key"]) or {}).get("done")
        ]
        if missing:
            return _(
                "Faltan ítems de la lista de verificación: %(items)s", items="; ".join(missing)
            )
    elif kind == "fields_complete":
        missing = [
            f["label"]
            for f in defn["fields"]
            if f.get("required") and is_blank(f, ticket.fields.get(f["name"]))
        ]
        if missing:
            return _("Faltan campos obligatorios: %(items)s", items="; ".join(missing))
    elif kind == "comment_required":
        if not (comment or "").strip():
            return _("Esta acción requiere un comentario.")
    elif kind == "not_requester":
        if actor is not SYSTEM and actor.id in _askers(ticket):
            return _("Quien solicitó o registró esta solicitud no puede aprobarla.")
    elif kind == "tracking_template_complete":
        unmet = [
            t.label
            for t in TrackingItem.select()
            .where(
                (TrackingItem.institution == ticket.institution_id) & (TrackingItem.met == False)
            )
            .order_by(TrackingItem.order)
        ]
        if unmet:
            return _(
                "La plantilla de seguimiento tiene ítems sin cumplir: %(items)s",
                items="; ".join(unmet),
            )
    elif kind == "children_closed":
        if (
            Ticket.select()
            .where((Ticket.parent == ticket.id) & (Ticket.state_category.in_(ACTIVE_CATEGORIES)))
            .exists()
        ):
            return _("Hay tickets vinculados abiertos.")
    else:
        return _("Condición desconocida: %(k)s", k=kind)
    return None


def _askers(ticket: Ticket) -> set[int]:
    """Who asked for a ticket: its requester and whoever registered it on their behalf."""
    opened_by = (
        TicketEvent.select(TicketEvent.actor)
        .where((TicketEvent.ticket == ticket.id) & (TicketEvent.kind == "created"))
        .scalar()
    )
    return {ticket.requester_id} | ({opened_by} if opened_by else set())


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
        if not _role_allowed(actor, ticket, tr.get("roles") or []):
            reason = _("Su rol no puede realizar esta acción.")
        else:
            for guard in tr.get("guards", []):
                kind = guard if isinstance(guard, str) else guard.get("kind")
                if kind == "comment_required":
                    continue  # checked when the comment is given
                reason = _guard_failure(actor, ticket, guard, comment)
                if reason:
                    break
        needs_comment = any(
            (g if isinstance(g, str) else g.get("kind")) == "comment_required"
            for g in tr.get("guards", [])
        )
        result.append(
            {**tr, "allowed": reason is None, "reason": reason, "needs_comment": needs_comment}
        )
    return result


def transition(actor, ticket_id, name, *, comment=None, expected_version=None):
    """Take a named transition, if its roles and guards allow; run its effects."""
    ticket = _ticket_for(actor, ticket_id)
    with unit_of_work():
        _apply_transition(actor, ticket, name, comment, expected_version)
    return ticket


def _apply_transition(actor, ticket, name, comment, expected_version, *, check_roles=True):
    defn = definition(ticket)
    tr = next((t for t in defn["transitions"] if t["name"] == name), None)
    if tr is None:
        raise NotFound(_("Esa acción no existe para este tipo de ticket."))
    if (tr.get("from") and ticket.state not in tr["from"]) or (
        not tr.get("from") and ticket.state_category not in ACTIVE_CATEGORIES
    ):
        raise Conflict(_("Esa acción ya no está disponible en el estado actual."))
    if check_roles and not _role_allowed(actor, ticket, tr.get("roles") or []):
        raise PermissionDenied(_("Su rol no puede realizar esta acción."))
    for guard in tr.get("guards", []):
        failure = _guard_failure(actor, ticket, guard, comment)
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
    _save(ticket, expected_version, **updates)
    comment = (comment or "").strip()
    if comment:
        Comment.create(
            ticket=ticket.id,
            author=actor.id if actor is not SYSTEM else None,
            body=comment,
            internal=False,
        )
    _history(
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
    token = _told.set(set())
    try:
        for effect in tr.get("effects", []):
            _apply_effect(actor, ticket, effect, comment=comment, transition=tr)
        _notify(
            "rejected" if target["category"] == REJECTED else "state_changed",
            ticket,
            ["requester"],
            actor,
            extra={"transition": tr["label"], "comment": comment},
            skip_told=True,
        )
    finally:
        _told.reset(token)
    return ticket


def _apply_effect(actor, ticket: Ticket, effect: dict, *, comment, transition=None):
    kind = effect["kind"]
    if kind == "move_to_level":
        queue = queue_for(ticket.institution_id, int(effect["level"]))
        before = ticket.queue_level
        _save(ticket, None, queue=queue.id, queue_level=queue.level, assignee=None)
        _history(ticket, actor, "moved", {"from_level": before, "to_level": queue.level})
        _notify(
            "escalated" if queue.level == SECOND_LEVEL else "returned",
            ticket,
            ["queue"],
            actor,
            extra={"comment": comment or ""},
        )
    elif kind == "open_ticket":
        _effect_open_ticket(actor, ticket, effect, comment)
    elif kind == "set_deadline":
        due = now() + dt.timedelta(days=int(effect["days"]))
        _save(ticket, None, due_at=due, reminded=[])
        _history(ticket, actor, "deadline", {"to": due.isoformat()})
    elif kind == "clear_deadline":
        _save(ticket, None, due_at=None, reminded=[])
        _history(ticket, actor, "deadline", {"to": None})
    elif kind == "notify":
        # an on_open effect has no transition: the mail names the type that opened
        label = transition["label"] if transition else definition(ticket)["name"]
        _notify(
            effect["event"],
            ticket,
            effect.get("roles", ["requester"]),
            actor,
            extra={"comment": comment or "", "transition": label},
        )
    elif kind == "set_stage":
        set_stage(ticket.institution_id, effect["stage"])
        _history(ticket, actor, "stage", {"stage": effect["stage"]})
    elif kind == "require_stage":
        refusal = _stage_refusal([effect], Institution.get_by_id(ticket.institution_id))
        if refusal:
            raise Conflict(refusal)
    elif kind == "create_institution":
        _effect_create_institution(actor, ticket, effect)
    elif kind == "set_queue_email":
        address = ticket.fields.get(effect["field"])
        if address:
            queue = queue_for(ticket.institution_id, FIRST_LEVEL)
            clash = Queue.get_or_none((Queue.email == address) & (Queue.id != queue.id))
            if clash is not None:
                raise Conflict(_("Esa dirección ya pertenece a otra cola."))
            queue.email = address
            queue.save()
            _history(ticket, actor, "queue_email", {"email": address})
    elif kind == "resolve_parent":
        parent = ticket.parent
        if parent is not None and parent.state_category in ACTIVE_CATEGORIES:
            if parent.waiting_on_id == ticket.id:
                _save(parent, None, waiting_on=None)
            _apply_transition(
                actor,
                parent,
                effect["transition"],
                comment or _("Resuelto por SGE en %(r)s", r=ticket.reference),
                None,
                check_roles=False,
            )
    else:
        raise Conflict(_("Efecto desconocido: %(k)s", k=kind))


def _effect_open_ticket(actor, ticket, effect, comment):
    requester_rule = effect.get("requester", "actor")
    if requester_rule == "requester":
        requester = ticket.requester
    elif requester_rule == "aiq":
        requester = (
            User.select()
            .where(
                (User.institution == ticket.institution_id)
                & (User.role == AIQ)
                & (User.active == True)
            )
            .order_by(User.id)
            .first()
        ) or ticket.requester
    else:
        requester = actor if actor is not SYSTEM else ticket.requester
    raw = {dst: ticket.fields.get(src) for dst, src in (effect.get("copy_fields") or {}).items()}
    raw = {k: v for k, v in raw.items() if v not in (None, "", [])}
    child_type = TicketType.get_or_none(TicketType.slug == effect["type"])
    if child_type is None:
        raise Conflict(_("El tipo de ticket %(t)s no existe.", t=effect["type"]))
    title = effect.get("title") or f"{child_type.name}: {ticket.title}"
    if "{" in title:
        title = (
            title.replace("{title}", ticket.title)
            .replace("{reference}", ticket.reference)
            .replace("{institution}", Institution.get_by_id(ticket.institution_id).sigla)
        )
    child = open_ticket(
        actor if actor is not SYSTEM else requester,
        effect["type"],
        title[:255],
        raw,
        source="effect",
        _effect={
            "institution_id": ticket.institution_id,
            "requester": requester,
            "parent": ticket.id,
        },
    )
    if comment:
        Comment.create(
            ticket=child.id,
            author=actor.id if actor is not SYSTEM else None,
            body=comment,
            internal=False,
        )
    if effect.get("wait"):
        _save(ticket, None, waiting_on=child.id)
    _history(
        ticket,
        actor,
        "linked",
        {
            "ticket": child.id,
            "reference": child.reference,
            "link": effect.get("link", "child"),
            "type": effect["type"],
        },
    )


def _effect_create_institution(actor, ticket, effect):
    mapping = effect.get("map", {})
    f = ticket.fields

    def value(key):
        return f.get(mapping.get(key, key)) or ""

    ruc_value, cedula, email = value("ruc"), value("aiq_cedula"), value("aiq_email").lower()
    if Institution.select().where(Institution.ruc == ruc_value).exists():
        raise Conflict(_("Ya existe una institución con el RUC %(r)s.", r=ruc_value))
    sigla = value("sigla").strip().upper()
    if Institution.select().where(Institution.sigla == sigla).exists():
        raise Conflict(_("Ya existe una institución con la sigla %(s)s.", s=sigla))
    if User.select().where((User.cedula == cedula) | (User.email == email)).exists():
        raise Conflict(_("Ya existe una cuenta con esa cédula o ese correo."))
    # the request stage began when the request arrived, not when it was accepted
    institution = create_institution(
        name=value("name"),
        ruc=ruc_value,
        sigla=sigla,
        phone=value("phone"),
        address=value("address"),
        stage=STAGES[0],
        since=ticket.created_at,
    )
    set_stage(institution.id, effect.get("stage", "capacitacion"))
    aiq = User.create(
        full_name=value("aiq_name"),
        cedula=cedula,
        cargo=value("aiq_cargo"),
        email=email,
        phone=value("aiq_phone"),
        mobile=value("aiq_mobile"),
        role=AIQ,
        institution=institution,
    )
    _save(ticket, None, institution=institution.id, requester=aiq.id)
    ticket.institution = institution
    _history(
        ticket,
        actor,
        "institution_created",
        {"institution": institution.id, "sigla": institution.sigla, "aiq": aiq.id},
    )
    send_invitation(aiq, ticket=ticket)


def send_invitation(user: User, ticket=None):
    """Mail a link to set a password (the mail never carries a password)."""
    from ticketing.auth import invitation_token

    context = {
        "name": user.full_name,
        "email": user.email,
        "institution": user.institution.sigla,
        "url": public_url(f"/password/{invitation_token(user)}"),
        "login_url": public_url("/login"),
        "reference": ticket.reference if ticket else "",
    }
    queue_mail("invitation", user, ticket=ticket, context=context)


# ---------------------------------------------------------------- institutions


def create_institution(
    *, name, ruc, sigla, phone="", address="", stage="solicitud", since=None
) -> Institution:
    """An institution with its first-level queue and its tracking template from the default.

    `since` is when it reached `stage` (now unless given).
    """
    ruc = normalize_ruc(ruc)
    if stage not in STAGES:
        raise ValidationFailed(_("Etapa desconocida."))
    since = since or now()
    with unit_of_work():
        try:
            institution = Institution.create(
                name=name,
                ruc=ruc,
                sigla=sigla.strip().upper(),
                phone=phone,
                address=address,
                stage=stage,
                stage_since=since,
            )
        except peewee.IntegrityError:
            raise Conflict(_("Ya existe una institución con ese RUC o esa sigla.")) from None
        StageChange.create(institution=institution, stage=stage, reached_at=since)
        Queue.create(
            institution=institution, level=FIRST_LEVEL, name=f"Mesa de ayuda {institution.sigla}"
        )
        for item in DefaultTrackingItem.select().order_by(DefaultTrackingItem.order):
            TrackingItem.create(
                institution=institution, label=item.label, label_en=item.label_en, order=item.order
            )
    return institution


def set_stage(institution_id: int, stage: str) -> None:
    """Move an institution to a rollout stage, recording the date it was reached."""
    if stage not in STAGES:
        raise ValidationFailed(_("Etapa desconocida."))
    institution = Institution.get_by_id(institution_id)
    if institution.stage == stage:
        return
    institution.stage = stage
    institution.stage_since = now()
    institution.save()
    StageChange.create(institution=institution, stage=stage)


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
            (g if isinstance(g, str) else g.get("kind")) == "tracking_template_complete"
            for tr in ticket.type_version.definition["transitions"]
            for g in tr.get("guards", [])
        )
    ]


def _tracking_history(actor, institution_id, data: dict) -> None:
    """The review, item by item, recorded on the tickets that depend on it."""
    for ticket in _reviewing_tickets(institution_id):
        _history(ticket, actor, "tracking", data)
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


# ---------------------------------------------------------------- rollout pipeline


def rollout_pipeline(actor) -> list[dict]:
    """Every institution in the rollout: stage, since when, the date each stage was reached,
    its open steps and how many are overdue; overdue first. Four queries at any size.

    An oficio not yet accepted is an institution at the first stage: its row comes from the
    pending request (a ticket whose workflow creates the institution), without a page yet.
    """
    if actor is SYSTEM or actor.role != AGQ:
        raise PermissionDenied(_("Solo el AGQ ve el avance de la implantación."))
    moment = now()
    overdue = (
        visible_tickets(actor)
        .select(Ticket.institution.alias("institution_id"), peewee.fn.COUNT(Ticket.id).alias("n"))
        .where((Ticket.due_at < moment) & Ticket.state_category.in_(ACTIVE_CATEGORIES))
        .group_by(Ticket.institution)
        .alias("overdue")
    )
    n_overdue = peewee.fn.COALESCE(overdue.c.n, 0)
    rows = list(
        visible_institutions(actor)
        .select(Institution, n_overdue.alias("n_overdue"))
        .join(overdue, peewee.JOIN.LEFT_OUTER, on=(Institution.id == overdue.c.institution_id))
        .where(Institution.is_sge == False)
        .order_by(n_overdue.desc(), Institution.stage_since, Institution.sigla)
        .objects()
    )
    ids = [row.id for row in rows] or [0]
    reached = {}
    for institution_id, stage, at in (
        StageChange.select(
            StageChange.institution, StageChange.stage, peewee.fn.MAX(StageChange.reached_at)
        )
        .where(StageChange.institution.in_(ids))
        .group_by(StageChange.institution, StageChange.stage)
        .tuples()
    ):
        reached.setdefault(institution_id, {})[stage] = _as_datetime(at)
    steps = {}
    for ticket in (
        visible_tickets(actor)
        .select(
            Ticket.id,
            Ticket.institution,
            Ticket.title,
            Ticket.state,
            Ticket.state_category,
            Ticket.due_at,
            TicketType.name,
        )
        .join(TicketType)
        .where(
            Ticket.institution.in_(ids)
            & (TicketType.category == "onboarding")
            & Ticket.state_category.in_(ACTIVE_CATEGORIES)
        )
        .order_by(Ticket.id)
    ):
        steps.setdefault(ticket.institution_id, []).append(ticket)
    result = [
        {
            "institution": row,
            "request": None,
            "sigla": row.sigla,
            "name": row.name,
            "stage": row.stage,
            "stage_label": STAGE_LABELS.get(row.stage, row.stage),
            "since": row.stage_since,
            "days_in_stage": (moment - row.stage_since).days,
            "reached": reached.get(row.id, {}),
            "steps": steps.get(row.id, []),
            "overdue": row.n_overdue,
        }
        for row in rows
    ]
    result += _pending_requests(actor, moment)
    result.sort(key=lambda r: (-r["overdue"], r["since"], r["sigla"]))
    return result


def _pending_requests(actor, moment) -> list[dict]:
    """Pipeline rows of requests still at SGE whose acceptance would create an institution."""
    rows = []
    for ticket in (
        visible_tickets(actor)
        .select(Ticket, TicketType, TicketTypeVersion)
        .join(TicketType, on=(Ticket.type == TicketType.id), attr="type")
        .switch(Ticket)
        .join(
            TicketTypeVersion,
            on=(Ticket.type_version == TicketTypeVersion.id),
            attr="type_version",
        )
        .where(
            Ticket.state_category.in_(ACTIVE_CATEGORIES)
            & (TicketType.category == "onboarding")
            & Ticket.institution.in_(
                Institution.select(Institution.id).where(Institution.is_sge == True)
            )
        )
        .order_by(Ticket.id)
    ):
        creates = [
            effect
            for tr in ticket.type_version.definition["transitions"]
            for effect in tr.get("effects", [])
            if effect.get("kind") == "create_institution"
        ]
        if not creates:
            continue
        mapping = creates[0].get("map", {})
        sigla = str(ticket.fields.get(mapping.get("sigla", "sigla")) or "").strip().upper()
        rows.append(
            {
                "institution": None,
                "request": ticket,
                "sigla": sigla or ticket.reference,
                "name": ticket.fields.get(mapping.get("name", "name")) or ticket.title,
                "stage": STAGES[0],
                "stage_label": STAGE_LABELS[STAGES[0]],
                "since": ticket.created_at,
                "days_in_stage": (moment - ticket.created_at).days,
                "reached": {STAGES[0]: ticket.created_at},
                "steps": [ticket],
                "overdue": int(ticket.is_overdue),
            }
        )
    return rows


def _as_datetime(value):
    """An aggregate's datetime (SQLite hands MAX() back as text)."""
    if isinstance(value, str):
        return dt.datetime.fromisoformat(value)
    return value


def institution_overview(actor, institution_id) -> dict:
    """One institution as `actor` may see it: its stages with dates, its rollout tickets
    and its plantilla de seguimiento. Internal users follow their own tickets, not this."""
    if actor is not SYSTEM and actor.role not in AGENT_ROLES:
        raise NotFound(_("La institución no existe o no está a su alcance."))
    try:
        institution = (
            visible_institutions(actor).where(Institution.id == int(institution_id)).first()
        )
    except (TypeError, ValueError):
        institution = None
    if institution is None:
        raise NotFound(_("La institución no existe o no está a su alcance."))
    reached = {}
    for change in (
        StageChange.select()
        .where(StageChange.institution == institution.id)
        .order_by(StageChange.reached_at, StageChange.id)
    ):
        reached[change.stage] = change.reached_at
    tickets = list(
        visible_tickets(actor)
        .select(Ticket, TicketType)
        .join(TicketType)
        .where((Ticket.institution == institution.id) & (TicketType.category == "onboarding"))
        .order_by(Ticket.id)
    )
    moment = now()
    return {
        "institution": institution,
        "stage_label": STAGE_LABELS.get(institution.stage, institution.stage),
        "days_in_stage": (moment - institution.stage_since).days,
        "stages": [
            {"key": key, "label": STAGE_LABELS[key], "at": reached.get(key)} for key in STAGES
        ],
        "tickets": tickets,
        "overdue": sum(1 for t in tickets if t.is_overdue),
        "tracking": list(
            TrackingItem.select()
            .where(TrackingItem.institution == institution.id)
            .order_by(TrackingItem.order, TrackingItem.id)
        ),
    }


# ---------------------------------------------------------------- people


def create_user(
    actor,
    *,
    full_name,
    cedula,
    email,
    role,
    institution_id,
    cargo="",
    phone="",
    mobile="",
    password=None,
    invite=True,
) -> User:
    """Add a person: the AGQ anywhere; the AIQ internal and focal users of its institution."""
    from email_validator import EmailNotValidError, validate_email

    from ticketing.fields import normalize_phone

    if actor is not SYSTEM:
        if actor.role == AIQ:
            if institution_id != actor.institution_id or role not in (INTERNO, FOCAL):
                raise PermissionDenied(
                    _("El AIQ solo agrega usuarios internos y focales de su institución.")
                )
        elif actor.role != AGQ:
            raise PermissionDenied(_("No puede crear usuarios."))
    errors = {}
    if not (full_name or "").strip():
        errors["full_name"] = _("Este campo es obligatorio.")
    try:
        cedula = normalize_cedula(cedula)
    except FieldError as exc:
        errors["cedula"] = exc.message
    try:
        email = validate_email(email or "", check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        errors["email"] = _("Escriba un correo electrónico válido.")
    if role not in ROLES:
        errors["role"] = _("Rol desconocido.")
    institution = Institution.get_or_none(Institution.id == institution_id)
    if institution is None:
        errors["institution"] = _("Institución desconocida.")
    elif role == AGQ and not institution.is_sge:
        errors["role"] = _("Los AGQ pertenecen a SGE.")
    for name, value in (("phone", phone), ("mobile", mobile)):
        if value:
            try:
                normalize_phone(value)
            except FieldError as exc:
                errors[name] = exc.message
    if errors:
        raise ValidationFailed(_("Revise los campos marcados."), fields=errors)
    with unit_of_work():
        if User.select().where(User.cedula == cedula).exists():
            raise ValidationFailed(
                _("Ya existe una cuenta con esa cédula."),
                fields={"cedula": _("Ya existe una cuenta con esa cédula.")},
            )
        if User.select().where(User.email == email).exists():
            raise ValidationFailed(
                _("Ya existe una cuenta con ese correo."),
                fields={"email": _("Ya existe una cuenta con ese correo.")},
            )
        user = User(
            full_name=full_name.strip(),
            cedula=cedula,
            email=email,
            role=role,
            institution=institution,
            cargo=cargo or "",
            phone=phone or "",
            mobile=mobile or "",
        )
        if password:
            user.set_password(password)
        try:
            user.save(force_insert=True)
        except peewee.IntegrityError:
            raise Conflict(_("Ya existe una cuenta con esa cédula o ese correo.")) from None
        if invite and not password:
            send_invitation(user)
    return user


def update_user(actor, user_id, changes: dict) -> User:
    """Edit a person: the AGQ anyone; the AIQ internal and focal users of its institution."""
    from email_validator import EmailNotValidError, validate_email

    from ticketing.fields import normalize_phone
    from ticketing.visibility import visible_users

    user = visible_users(actor).where(User.id == user_id).first()
    if user is None:
        raise NotFound(_("Esa persona no existe o no está a su alcance."))
    if actor.role == AIQ:
        if user.role not in (INTERNO, FOCAL) or changes.get("role", user.role) not in (
            INTERNO,
            FOCAL,
        ):
            raise PermissionDenied(_("El AIQ solo gestiona usuarios internos y focales."))
    elif actor.role != AGQ:
        raise PermissionDenied(_("No puede editar personas."))
    errors = {}
    values = {}
    for name, value in changes.items():
        value = value.strip() if isinstance(value, str) else value
        try:
            if name == "cedula":
                value = normalize_cedula(value)
            elif name == "email":
                value = validate_email(value or "", check_deliverability=False).normalized.lower()
            elif name in ("phone", "mobile") and value:
                normalize_phone(value)
            elif name == "role" and value not in ROLES:
                raise FieldError(_("Rol desconocido."))
            elif name == "full_name" and not value:
                raise FieldError(_("Este campo es obligatorio."))
        except FieldError as exc:
            errors[name] = exc.message
            continue
        except EmailNotValidError:
            errors[name] = _("Escriba un correo electrónico válido.")
            continue
        if name in ("full_name", "cedula", "email", "role", "cargo", "phone", "mobile", "active"):
            values[name] = value if value is not None else ""
    if values.get("role") == AGQ and not user.institution.is_sge:
        errors["role"] = _("Los AGQ pertenecen a SGE.")
    if errors:
        raise ValidationFailed(_("Revise los campos marcados."), fields=errors)
    with unit_of_work():
        try:
            User.update(**values).where(User.id == user.id).execute()
        except peewee.IntegrityError:
            raise ValidationFailed(
                _("Ya existe una cuenta con esa cédula o ese correo."),
                fields={"email": _("Ya existe una cuenta con esa cédula o ese correo.")},
            ) from None
        # a new role or a deactivation takes effect at once, not at the next sign-in
        if values.get("role", user.role) != user.role or (
            "active" in values and not values["active"] and user.active
        ):
            from ticketing.sessions import revoke_all

            revoke_all(user)
    return User.get_by_id(user.id)
