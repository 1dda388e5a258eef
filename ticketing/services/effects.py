"""Effect kinds: what a transition, or the opening of a ticket, does besides changing state.

A workflow lists effects as dicts with a `kind` and its settings. A new kind is one function
registered here with `@effect("kind")`; it must also be described in
`ticketing.definitions.EFFECT_KINDS` (and its settings in `EFFECT_PARAMS`).
"""

import datetime as dt
from collections.abc import Callable

from flask_babel import gettext as _

from ticketing import search
from ticketing.errors import Conflict
from ticketing.models import (
    ACTIVE_CATEGORIES,
    AIQ,
    FIRST_LEVEL,
    SECOND_LEVEL,
    STAGES,
    Comment,
    Institution,
    Queue,
    TicketType,
    User,
    now,
)
from ticketing.services.common import SYSTEM, add_history, definition, queue_for, save_ticket
from ticketing.services.notify import notify
from ticketing.services.people import send_invitation
from ticketing.services.rollout import create_institution, set_stage, stage_refusal

# kind → run(actor, ticket, settings, comment, transition); `transition` is None on opening
EFFECTS: dict[str, Callable] = {}


def effect(kind: str):
    """Register the decorated function as what effect `kind` does."""

    def register(run):
        EFFECTS[kind] = run
        return run

    return register


def apply_effect(actor, ticket, spec: dict, *, comment, transition=None) -> None:
    """Do what the effect `spec` says to `ticket`, or refuse an unknown kind."""
    kind = spec["kind"]
    run = EFFECTS.get(kind)
    if run is None:
        raise Conflict(_("Efecto desconocido: %(k)s", k=kind))
    run(actor, ticket, spec, comment, transition)


@effect("move_to_level")
def _move_to_level(actor, ticket, settings, comment, transition):
    queue = queue_for(ticket.institution_id, int(settings["level"]))
    before = ticket.queue_level
    save_ticket(ticket, None, queue=queue.id, queue_level=queue.level, assignee=None)
    add_history(ticket, actor, "moved", {"from_level": before, "to_level": queue.level})
    notify(
        "escalated" if queue.level == SECOND_LEVEL else "returned",
        ticket,
        ["queue"],
        actor,
        extra={"comment": comment or ""},
    )


@effect("set_deadline")
def _set_deadline(actor, ticket, settings, comment, transition):
    due = now() + dt.timedelta(days=int(settings["days"]))
    save_ticket(ticket, None, due_at=due, reminded=[])
    add_history(ticket, actor, "deadline", {"to": due.isoformat()})


@effect("clear_deadline")
def _clear_deadline(actor, ticket, settings, comment, transition):
    save_ticket(ticket, None, due_at=None, reminded=[])
    add_history(ticket, actor, "deadline", {"to": None})


@effect("notify")
def _notify(actor, ticket, settings, comment, transition):
    # an on_open effect has no transition: the mail names the type that opened
    label = transition["label"] if transition else definition(ticket)["name"]
    notify(
        settings["event"],
        ticket,
        settings.get("roles", ["requester"]),
        actor,
        extra={"comment": comment or "", "transition": label},
    )


@effect("set_stage")
def _set_stage(actor, ticket, settings, comment, transition):
    set_stage(ticket.institution_id, settings["stage"])
    add_history(ticket, actor, "stage", {"stage": settings["stage"]})


@effect("require_stage")
def _require_stage(actor, ticket, settings, comment, transition):
    refusal = stage_refusal([settings], Institution.get_by_id(ticket.institution_id))
    if refusal:
        raise Conflict(refusal)


@effect("set_queue_email")
def _set_queue_email(actor, ticket, settings, comment, transition):
    address = ticket.fields.get(settings["field"])
    if address:
        queue = queue_for(ticket.institution_id, FIRST_LEVEL)
        clash = Queue.get_or_none((Queue.email == address) & (Queue.id != queue.id))
        if clash is not None:
            raise Conflict(_("Esa dirección ya pertenece a otra cola."))
        queue.email = address
        queue.save()
        add_history(ticket, actor, "queue_email", {"email": address})


@effect("resolve_parent")
def _resolve_parent(actor, ticket, settings, comment, transition):
    # late import: the engine runs effects, and this effect runs the engine on the parent
    from ticketing.services.workflow import apply_transition

    parent = ticket.parent
    if parent is not None and parent.state_category in ACTIVE_CATEGORIES:
        if parent.waiting_on_id == ticket.id:
            save_ticket(parent, None, waiting_on=None)
        apply_transition(
            actor,
            parent,
            settings["transition"],
            comment or _("Resuelto por SGE en %(r)s", r=ticket.reference),
            None,
            check_roles=False,
        )


@effect("open_ticket")
def _open_ticket(actor, ticket, settings, comment, transition):
    # late import: opening a ticket runs its type's on_open effects, and this effect opens one
    from ticketing.services.tickets import open_linked_ticket

    requester_rule = settings.get("requester", "actor")
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
    raw = {dst: ticket.fields.get(src) for dst, src in (settings.get("copy_fields") or {}).items()}
    raw = {k: v for k, v in raw.items() if v not in (None, "", [])}
    child_type = TicketType.get_or_none(TicketType.slug == settings["type"])
    if child_type is None:
        raise Conflict(_("El tipo de ticket %(t)s no existe.", t=settings["type"]))
    title = settings.get("title") or f"{child_type.name}: {ticket.title}"
    if "{" in title:
        title = (
            title.replace("{title}", ticket.title)
            .replace("{reference}", ticket.reference)
            .replace("{institution}", Institution.get_by_id(ticket.institution_id).sigla)
        )
    child = open_linked_ticket(
        actor if actor is not SYSTEM else requester,
        settings["type"],
        title[:255],
        raw,
        institution_id=ticket.institution_id,
        requester=requester,
        parent=ticket.id,
    )
    if comment:
        Comment.create(
            ticket=child.id,
            author=actor.id if actor is not SYSTEM else None,
            body=comment,
            internal=False,
        )
        search.index_ticket(child)
    if settings.get("wait"):
        save_ticket(ticket, None, waiting_on=child.id)
    add_history(
        ticket,
        actor,
        "linked",
        {
            "ticket": child.id,
            "reference": child.reference,
            "link": settings.get("link", "child"),
            "type": settings["type"],
        },
    )


@effect("create_institution")
def _create_institution(actor, ticket, settings, comment, transition):
    mapping = settings.get("map", {})
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
    set_stage(institution.id, settings.get("stage", "capacitacion"))
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
    save_ticket(ticket, None, institution=institution.id, requester=aiq.id)
    ticket.institution = institution
    add_history(
        ticket,
        actor,
        "institution_created",
        {"institution": institution.id, "sigla": institution.sigla, "aiq": aiq.id},
    )
    send_invitation(aiq, ticket=ticket)
