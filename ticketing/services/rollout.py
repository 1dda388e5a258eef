"""The rollout: institutions, their stages, the pipeline and one institution's overview."""

import datetime as dt

import peewee
from flask_babel import gettext as _

from ticketing.definitions import ticket_definition
from ticketing.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ticketing.fields import normalize_ruc
from ticketing.models import (
    ACTIVE_CATEGORIES,
    AGENT_ROLES,
    AGQ,
    FIRST_LEVEL,
    STAGE_LABELS,
    STAGES,
    DefaultTrackingItem,
    Institution,
    Queue,
    StageChange,
    Ticket,
    TicketType,
    TicketTypeVersion,
    TrackingItem,
    now,
)
from ticketing.outbox import unit_of_work
from ticketing.services.common import SYSTEM
from ticketing.visibility import visible_institutions, visible_tickets


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


def stage_refusal(effects, institution) -> str | None:
    """Why a `require_stage` effect refuses `institution`, or None."""
    for effect in effects or []:
        if effect.get("kind") == "require_stage" and institution.stage not in effect["stages"]:
            return _(
                "La institución está en la etapa «%(s)s»; esto no corresponde a esa etapa.",
                s=STAGE_LABELS.get(institution.stage, institution.stage),
            )
    return None


def rollout_pipeline(actor) -> list[dict]:
    """Every institution in the rollout: stage, since when, the date each stage was reached,
    its open steps and how many are overdue; overdue first. Five queries at any size.

    An oficio not yet accepted is an institution at the first stage: its row comes from the
    pending request (a ticket whose workflow creates the institution), without a page yet.
    """
    if actor is SYSTEM or actor.role != AGQ:
        raise PermissionDenied(_("Solo el AGQ ve el avance de la implantación."))
    moment = now()
    # rollout steps are found by their types, never by scanning SGE's queue: the page reads
    # as many tickets as there are steps, whatever the number of support tickets
    # (the ids as constants: the planner then reads the type index, not SGE's whole queue)
    onboarding = TicketType.select(TicketType.id).where(TicketType.category == "onboarding")
    steps_of_rollout = Ticket.type.in_([t.id for t in onboarding] or [0])
    overdue = (
        visible_tickets(actor)
        .select(Ticket.institution.alias("institution_id"), peewee.fn.COUNT(Ticket.id).alias("n"))
        .where(
            steps_of_rollout
            & (Ticket.due_at < moment)
            & Ticket.state_category.in_(ACTIVE_CATEGORIES)
        )
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
            steps_of_rollout
            & Ticket.institution.in_(ids)
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
    result += _pending_requests(actor, moment, steps_of_rollout)
    result.sort(key=lambda r: (-r["overdue"], r["since"], r["sigla"]))
    return result


def _pending_requests(actor, moment, steps_of_rollout) -> list[dict]:
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
            steps_of_rollout
            & Ticket.state_category.in_(ACTIVE_CATEGORIES)
            & Ticket.institution.in_(
                Institution.select(Institution.id).where(Institution.is_sge == True)
            )
        )
        .order_by(Ticket.id)
    ):
        creates = [
            effect
            for tr in ticket_definition(ticket)["transitions"]
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


INSTITUTION_EDITABLE = {"name": 255, "phone": 64, "address": 255}  # field → max length


def update_institution(actor, institution_id, changes: dict) -> Institution:
    """The AGQ corrects an institution's name, phone or address (RUC and sigla stay)."""
    if actor is not SYSTEM and actor.role != AGQ:
        if visible_institutions(actor).where(Institution.id == institution_id).exists():
            raise PermissionDenied(_("Solo el AGQ edita los datos de una institución."))
        raise NotFound(_("La institución no existe o no está a su alcance."))
    institution = Institution.get_or_none(Institution.id == institution_id)
    if institution is None:
        raise NotFound(_("La institución no existe o no está a su alcance."))
    errors, values = {}, {}
    for name, value in changes.items():
        if name not in INSTITUTION_EDITABLE:
            errors[name] = _("Este dato no se edita.")
            continue
        value = (value or "").strip()
        if name == "name" and not value:
            errors[name] = _("Este campo es obligatorio.")
        elif len(value) > INSTITUTION_EDITABLE[name]:
            errors[name] = _("Máximo %(n)s caracteres.", n=INSTITUTION_EDITABLE[name])
        else:
            values[name] = value
    if errors:
        raise ValidationFailed(_("Revise los campos marcados."), fields=errors)
    if values:
        with unit_of_work():
            Institution.update(**values).where(Institution.id == institution.id).execute()
    return Institution.get_by_id(institution.id)
