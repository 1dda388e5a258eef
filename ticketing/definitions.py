"""Ticket type definitions: rows in the designer, immutable JSON snapshots on tickets."""

import re

from flask import current_app

from ticketing.db import db
from ticketing.fields import KINDS, option_errors
from ticketing.models import (
    AGENT_ROLES,
    ROLES,
    STAGES,
    STATE_CATEGORIES,
    TYPE_CATEGORIES,
    ChecklistItemDef,
    FieldDef,
    StateDef,
    Ticket,
    TicketType,
    TicketTypeVersion,
    TransitionDef,
)

GUARD_KINDS = {
    "checklist_complete": "Todos los ítems obligatorios de la lista de verificación están cumplidos",
    "fields_complete": "Todos los campos obligatorios están llenos",
    "comment_required": "Se ingresó un comentario",
    "not_requester": "Quien actúa no es quien solicitó (cuatro ojos)",
    "tracking_template_complete": "Todos los ítems de la plantilla de seguimiento están cumplidos",
    "children_closed": "Los tickets vinculados están cerrados",
    "closed_within": "El ticket se cerró hace menos de N días (days; 15 si no se indica)",
    "on_reply": "Quien solicitó la toma respondiendo por correo (su respuesta es el comentario)",
}

# what each guard kind reads besides `kind`, and the check of each value
GUARD_PARAMS = {
    "closed_within": {"days": lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0},
}

EFFECT_KINDS = {
    "move_to_level": "Mover a la cola de otro nivel (level: 1|2)",
    "open_ticket": (
        "Abrir un ticket vinculado (type, link: child|next, wait, requester: actor|requester|aiq, "
        "copy_fields, title con {reference}, {title}, {institution})"
    ),
    "set_deadline": "Fijar fecha límite (days)",
    "clear_deadline": "Quitar fecha límite",
    "notify": "Notificar (event, roles)",
    "set_stage": "Cambiar la etapa de la institución (stage)",
    "require_stage": "Exigir que la institución esté en una de estas etapas (stages); si no, se rechaza",
    "create_institution": "Crear institución, su cola y la cuenta del AIQ desde los campos (map)",
    "set_queue_email": "Usar un campo de correo como dirección de la cola de primer nivel (field)",
    "resolve_parent": "Devolver el ticket padre con la resolución (transition)",
}

# what each effect kind reads besides `kind`: any other key is a mistake, not a setting
EFFECT_PARAMS = {
    "move_to_level": ("level",),
    "open_ticket": ("type", "link", "wait", "requester", "copy_fields", "title"),
    "set_deadline": ("days",),
    "clear_deadline": (),
    "notify": ("event", "roles"),
    "set_stage": ("stage",),
    "require_stage": ("stages",),
    "create_institution": ("map", "stage"),
    "set_queue_email": ("field",),
    "resolve_parent": ("transition",),
}

# the kind-specific settings ticketing.fields reads from a field's options
OPTION_KEYS = ("max_length", "min", "max", "max_mb", "extensions", "multiple")

RECIPIENT_ROLES = ("requester", "assignee", "queue", "aiq", "focal", "agq")

# slugs and keys end up in URLs (/nuevo/<slug>/, .../checklist/<key>) and element ids
KEY_PATTERN = re.compile(r"[\w-]+")


def _bad_key(value) -> bool:
    return not (isinstance(value, str) and KEY_PATTERN.fullmatch(value))


def field_dict(row: FieldDef) -> dict:
    return {
        "name": row.name,
        "label": row.label,
        "label_en": row.label_en,
        "help_text": row.help_text,
        "help_text_en": row.help_text_en,
        "kind": row.kind,
        "required": row.required,
        "order": row.order,
        "fieldset": row.fieldset,
        "default": row.default,
        "choices": row.choices or [],
        "choices_en": row.choices_en or {},
        "options": row.options or {},
    }


def checklist_dict(row: ChecklistItemDef) -> dict:
    return {
        "key": row.key,
        "label": row.label,
        "label_en": row.label_en,
        "required": row.required,
        "roles": row.roles or [],
        "evidence": row.evidence,
        "hours": row.hours,
        "schedulable": row.schedulable,
        "order": row.order,
    }


def state_dict(row: StateDef) -> dict:
    return {
        "key": row.key,
        "label": row.label,
        "label_en": row.label_en,
        "category": row.category,
        "initial": row.initial,
        "order": row.order,
    }


def transition_dict(row: TransitionDef) -> dict:
    return {
        "name": row.name,
        "label": row.label,
        "label_en": row.label_en,
        "from": row.from_states or [],
        "to": row.to_state,
        "roles": row.roles or [],
        "guards": row.guards or [],
        "effects": row.effects or [],
        "order": row.order,
    }


def definition_of(ticket_type: TicketType) -> dict:
    """The full definition of a type, read from its designer rows."""
    order = lambda rows: sorted(rows, key=lambda r: (r.order, r.id))  # noqa: E731
    return {
        "slug": ticket_type.slug,
        "name": ticket_type.name,
        "name_en": ticket_type.name_en,
        "description": ticket_type.description,
        "description_en": ticket_type.description_en,
        "category": ticket_type.category,
        "open_roles": ticket_type.open_roles or [],
        "queue_level": ticket_type.queue_level,
        "deadline_days": ticket_type.deadline_days,
        "on_open": ticket_type.on_open or [],
        "active": ticket_type.active,
        "order": ticket_type.order,
        "fields": [field_dict(r) for r in order(ticket_type.field_defs)],
        "checklist": [checklist_dict(r) for r in order(ticket_type.checklist_defs)],
        "states": [state_dict(r) for r in order(ticket_type.state_defs)],
        "transitions": [transition_dict(r) for r in order(ticket_type.transition_defs)],
    }


def validate_definition(defn: dict, known_types: set[str] | None = None) -> list[str]:
    """Every mistake in a definition, each naming where it is."""
    errors = []
    slug = defn.get("slug") or "?"

    def err(where, message):
        errors.append(f"{slug}: {where}: {message}")

    if not defn.get("slug"):
        err("slug", "falta el identificador (slug)")
    elif _bad_key(defn["slug"]):
        err("slug", "identificador inválido (letras, dígitos, _ y -)")
    if not defn.get("name"):
        err("name", "falta el nombre")
    if defn.get("category", "support") not in TYPE_CATEGORIES:
        err("category", f"categoría desconocida {defn.get('category')!r}")
    if defn.get("queue_level", 1) not in (1, 2):
        err("queue_level", "debe ser 1 o 2")
    for role in defn.get("open_roles", []):
        if role not in ROLES:
            err("open_roles", f"rol desconocido {role!r}")
    names = set()
    for i, field in enumerate(defn.get("fields", [])):
        where = f"fields[{i}]"
        if not field.get("name") or not str(field["name"]).isidentifier():
            err(where, "nombre de campo inválido (letras, dígitos y _)")
        if field.get("name") in names:
            err(where, f"campo repetido {field.get('name')!r}")
        names.add(field.get("name"))
        if field.get("kind") not in KINDS:
            err(where, f"tipo de campo desconocido {field.get('kind')!r}")
        if field.get("kind") in ("choice", "multichoice") and not field.get("choices"):
            err(where, "un campo de opciones necesita opciones")
        if not field.get("label"):
            err(where, "falta la etiqueta")
        for problem in option_errors(field):
            err(where, f"opciones: {problem}")
        if isinstance(field.get("options"), dict):
            for key in sorted(set(field["options"]) - set(OPTION_KEYS), key=str):
                err(where, f"opciones: ajuste desconocido {key!r}")
        _check_choices_en(field, where, err)
    keys = set()
    for i, item in enumerate(defn.get("checklist", [])):
        where = f"checklist[{i}]"
        if not item.get("key"):
            err(where, "falta la clave")
        elif _bad_key(item["key"]):
            err(where, "clave inválida (letras, dígitos, _ y -)")
        if not item.get("label"):
            err(where, "falta la etiqueta")
        if item.get("key") in keys:
            err(where, f"ítem repetido {item.get('key')!r}")
        keys.add(item.get("key"))
        if item.get("evidence", "none") not in ("none", "comment", "attachment"):
            err(where, f"evidencia desconocida {item.get('evidence')!r}")
        for role in item.get("roles", []):
            if role not in ROLES:
                err(where, f"rol desconocido {role!r}")
    states = {}
    for i, state in enumerate(defn.get("states", [])):
        where = f"states[{i}]"
        if not state.get("key"):
            err(where, "falta la clave")
        elif _bad_key(state["key"]):
            err(where, "clave inválida (letras, dígitos, _ y -)")
        if not state.get("label"):
            err(where, "falta la etiqueta")
        if state.get("key") in states:
            err(where, f"estado repetido {state.get('key')!r}")
        states[state.get("key")] = state
        if state.get("category") not in STATE_CATEGORIES:
            err(where, f"categoría de estado desconocida {state.get('category')!r}")
    if not states:
        err("states", "se necesita al menos un estado")
    elif sum(1 for s in states.values() if s.get("initial")) != 1:
        err("states", "debe haber exactamente un estado inicial")
    transitions = set()
    for i, effect in enumerate(defn.get("on_open", [])):
        if not isinstance(effect, dict) or effect.get("kind") not in EFFECT_KINDS:
            err(f"on_open[{i}]", "efecto desconocido")
            continue
        _check_params(effect, f"on_open[{i}]", err)
        _check_stages(effect, f"on_open[{i}]", err)
    for i, tr in enumerate(defn.get("transitions", [])):
        where = f"transitions[{i}]"
        if not tr.get("name"):
            err(where, "falta el nombre")
        elif _bad_key(tr["name"]):
            err(where, "nombre inválido (letras, dígitos, _ y -)")
        if not tr.get("label"):
            err(where, "falta la etiqueta")
        if tr.get("name") in transitions:
            err(where, f"transición repetida {tr.get('name')!r}")
        transitions.add(tr.get("name"))
        for state in tr.get("from", []):
            if state not in states:
                err(where, f"estado de origen desconocido {state!r}")
        if tr.get("to") not in states:
            err(where, f"estado de destino desconocido {tr.get('to')!r}")
        for role in tr.get("roles", []):
            if role not in ROLES and role != "requester":
                err(where, f"rol desconocido {role!r}")
        for guard in tr.get("guards", []):
            kind = guard if isinstance(guard, str) else guard.get("kind")
            if kind not in GUARD_KINDS:
                err(where, f"condición desconocida {kind!r}")
            elif isinstance(guard, dict):
                _check_guard_params(guard, where, err)
            if kind == "on_reply" and "requester" not in tr.get("roles", []):
                err(where, "on_reply: la transición debe permitir al solicitante (requester)")
        for effect in tr.get("effects", []):
            kind = effect.get("kind") if isinstance(effect, dict) else None
            if kind not in EFFECT_KINDS:
                err(where, f"efecto desconocido {kind!r}")
                continue
            _check_params(effect, where, err)
            if kind == "open_ticket" and known_types is not None:
                if effect.get("type") not in known_types:
                    err(where, f"tipo de ticket desconocido {effect.get('type')!r}")
            if kind == "move_to_level" and effect.get("level") not in (1, 2):
                err(where, "move_to_level necesita level 1 o 2")
            if kind == "notify":
                for role in effect.get("roles", []):
                    if role not in RECIPIENT_ROLES:
                        err(where, f"destinatario desconocido {role!r}")
            _check_stages(effect, where, err)
    return errors


def _check_params(effect: dict, where: str, err) -> None:
    """An effect carries only the parameters its kind reads: a misspelt one would be ignored."""
    allowed = {"kind", *EFFECT_PARAMS[effect["kind"]]}
    for key in sorted(set(effect) - allowed, key=str):
        err(where, f"{effect['kind']}: parámetro desconocido {key!r}")


def _check_guard_params(guard: dict, where: str, err) -> None:
    """A guard's settings are the ones its kind reads, each a value it can use."""
    params = GUARD_PARAMS.get(guard["kind"], {})
    for key, value in sorted(guard.items(), key=lambda kv: str(kv[0])):
        if key == "kind":
            continue
        if key not in params:
            err(where, f"{guard['kind']}: parámetro desconocido {key!r}")
        elif not params[key](value):
            err(where, f"{guard['kind']}: valor inválido para {key!r}")


def _check_choices_en(field: dict, where: str, err) -> None:
    """English choice labels map values the field offers to text."""
    labels = field.get("choices_en") or {}
    if not isinstance(labels, dict):
        err(where, "choices_en debe ser un mapa de opción a etiqueta en inglés")
        return
    offered = {
        str(c[0]) if isinstance(c, list | tuple) and c else str(c)
        for c in field.get("choices") or []
    }
    for value, label in labels.items():
        if str(value) not in offered:
            err(where, f"choices_en: opción desconocida {value!r}")
        elif not isinstance(label, str):
            err(where, f"choices_en: la etiqueta de {value!r} debe ser un texto")


def _check_stages(effect: dict, where: str, err) -> None:
    """Stage names in `set_stage` / `require_stage` effects must be known stages."""
    if effect.get("kind") == "set_stage" and effect.get("stage") not in STAGES:
        err(where, f"etapa desconocida {effect.get('stage')!r}")
    if effect.get("kind") == "require_stage":
        stages = effect.get("stages")
        if not isinstance(stages, list) or not stages:
            err(where, "require_stage necesita una lista de etapas (stages)")
        else:
            for stage in stages:
                if stage not in STAGES:
                    err(where, f"etapa desconocida {stage!r}")


def publish(ticket_type: TicketType) -> TicketTypeVersion:
    """Snapshot the type's rows as its current version.

    A version that tickets already use is never changed: an edit makes a new one.
    """
    definition = definition_of(ticket_type)
    with db.atomic():
        latest = (
            TicketTypeVersion.select()
            .where(TicketTypeVersion.ticket_type == ticket_type)
            .order_by(TicketTypeVersion.number.desc())
            .first()
        )
        if latest is not None and latest.definition == definition:
            return latest
        in_use = (
            latest is not None
            and Ticket.select().where(Ticket.type_version == latest).limit(1).exists()
        )
        if latest is None or in_use:
            return TicketTypeVersion.create(
                ticket_type=ticket_type,
                number=(latest.number + 1) if latest else 1,
                definition=definition,
            )
        latest.definition = definition
        latest.save()
        return latest


def current_version(ticket_type: TicketType) -> TicketTypeVersion:
    """The newest published version of a type (publishing it first if it has none)."""
    latest = (
        TicketTypeVersion.select()
        .where(TicketTypeVersion.ticket_type == ticket_type)
        .order_by(TicketTypeVersion.number.desc())
        .first()
    )
    return latest or publish(ticket_type)


_CACHE_KEY = "mesa.version_definitions"


def ticket_definition(ticket: Ticket) -> dict:
    """The definition of the version `ticket` was opened with, parsed once per process.

    A version that a ticket uses is never changed again (`publish` makes a new one), so
    its parsed definition is kept for the life of the app: lists and ticket pages neither
    fetch nor parse the definition's JSON per row. Treat the result as read-only.
    """
    return _version(ticket.type_version_id)[0]


def version_number(ticket: Ticket) -> int:
    """The number of the version `ticket` was opened with (kept like its definition)."""
    return _version(ticket.type_version_id)[1]


def _version(version_id: int) -> tuple[dict, int]:
    cache = current_app.extensions.setdefault(_CACHE_KEY, {})
    found = cache.get(version_id)
    if found is None:
        row = (
            TicketTypeVersion.select(TicketTypeVersion.definition, TicketTypeVersion.number)
            .where(TicketTypeVersion.id == version_id)
            .get()
        )
        found = cache[version_id] = (row.definition, row.number)
    return found


def may_open(user, definition: dict) -> bool:
    """Whether `user`'s role may open tickets of this type."""
    return user.role in (definition.get("open_roles") or ()) and definition.get("active", True)


__all__ = [
    "AGENT_ROLES",
    "publish",
    "current_version",
    "definition_of",
    "ticket_definition",
    "validate_definition",
    "version_number",
]
