"""The ticket-type designer: save a whole type, import and export the process. AGQ only.

A draft is a type definition (see `definitions.definition_of`) as a form sends it: the
JSON-ish attributes may come as text (effects, on_open and options as YAML or JSON,
choices as "valor|etiqueta" lines, numbers as digits). `save_type` turns it into a
definition, validates it whole and writes it in one transaction, or writes nothing.
"""

import hashlib
import json
import re
import unicodedata

import yaml
from flask_babel import gettext as _
from peewee import IntegrityError, SqliteDatabase, fn

from ticketing import process_io
from ticketing.db import db
from ticketing.definitions import current_version, definition_of, validate_definition
from ticketing.errors import NotFound, PermissionDenied, StaleVersion, ValidationFailed
from ticketing.models import (
    AGQ,
    ChecklistItemDef,
    FieldDef,
    StateDef,
    Ticket,
    TicketType,
    TicketTypeVersion,
    TransitionDef,
)

SECTIONS = {
    "fields": "Campo",
    "checklist": "Ítem de la lista",
    "states": "Estado",
    "transitions": "Transición",
    "on_open": "Efecto al abrir",
}
GENERAL = {
    "slug": "Identificador",
    "name": "Nombre",
    "category": "Categoría",
    "queue_level": "Cola",
    "open_roles": "Quién puede abrirlo",
    "deadline_days": "Plazo",
    "order": "Orden en el menú",
    "on_open": "Efectos al abrir",
    "states": "Estados",
}
_LOCATION = re.compile(r"(\w+)\[(\d+)\]$")
MAX_NESTING = 20  # levels a YAML attribute may nest; no effect or option needs more than four
# the table each part of a definition is stored in, and the definition key → column name
COLUMNS = {
    None: (TicketType, {}),
    "fields": (FieldDef, {}),
    "checklist": (ChecklistItemDef, {}),
    "states": (StateDef, {}),
    "transitions": (TransitionDef, {"to": "to_state"}),
}
ATTRIBUTE_LABELS = {
    "name": "Nombre",
    "slug": "Identificador",
    "name_en": "Nombre en inglés",
    "category": "Categoría",
    "label": "Etiqueta",
    "label_en": "Etiqueta en inglés",
    "help_text": "Texto de ayuda",
    "fieldset": "Grupo",
    "default": "Valor inicial",
    "kind": "Tipo de campo",
    "key": "Clave",
    "evidence": "Evidencia",
    "to": "Hacia el estado",
}


class DefinitionInvalid(ValidationFailed):
    """A draft or process file with mistakes; nothing was written.

    `located` holds (where, message) pairs, `where` as validate_definition names it
    ("transitions[0]", "slug", "" for the whole file); `errors` the lines people read.
    """

    code = "invalid_definition"

    def __init__(self, located: list[tuple[str, str]], draft: dict | None = None):
        self.located = located
        self.errors = [
            f"{describe_location(where, draft)}: {message}" if where else message
            for where, message in located
        ]
        super().__init__(
            _("No se guardó nada: hay %(n)s error(es) que corregir.", n=len(located)),
            fields={where: message for where, message in located if where in GENERAL},
        )


def _require_agq(actor) -> None:
    if actor is None or getattr(actor, "role", None) != AGQ or not actor.active:
        raise PermissionDenied(_("Solo el AGQ diseña los tipos de ticket."))


def describe_location(where: str, draft: dict | None = None) -> str:
    """'transitions[0]' as people read it: 'Transición 1 «Cerrar»'."""
    match = _LOCATION.fullmatch(where)
    if match and match.group(1) in SECTIONS:
        section, index = match.group(1), int(match.group(2))
        text = f"{SECTIONS[section]} {index + 1}"
        rows = (draft or {}).get(section)
        if isinstance(rows, list) and index < len(rows) and isinstance(rows[index], dict):
            label = rows[index].get("label")
            if label:
                text += f" «{label}»"
        return text
    return GENERAL.get(where, where)


def key_from(label: str, separator: str = "_") -> str:
    """An identifier made from a label: 'Número de cédula' → 'numero_de_cedula'."""
    ascii_text = unicodedata.normalize("NFKD", label or "").encode("ascii", "ignore").decode()
    key = re.sub(r"[^a-z0-9]+", separator, ascii_text.lower()).strip(separator)[:64]
    return f"{separator}{key}" if key[:1].isdigit() and separator == "_" else key


def choices_from_text(text) -> list:
    """'valor|etiqueta' lines as [[valor, etiqueta], ...]; a bare value is its own label."""
    if isinstance(text, list):
        return text
    pairs = []
    for line in str(text or "").splitlines():
        if not line.strip():
            continue
        value, _sep, label = line.partition("|")
        pairs.append([value.strip(), label.strip() or value.strip()])
    return pairs


def choices_to_text(choices) -> str:
    lines = []
    for choice in choices or []:
        if isinstance(choice, list | tuple):
            lines.append("|".join(str(part) for part in choice[:2]))
        else:
            lines.append(str(choice))
    return "\n".join(lines)


def yaml_text(value) -> str:
    """A JSON-ish attribute as the designer's textarea shows it ('' when empty)."""
    if not value:
        return ""
    return yaml.safe_dump(value, allow_unicode=True, sort_keys=False, width=100).rstrip()


class _Draft:
    """Turns a draft into a definition, collecting (where, message) for what it cannot read."""

    def __init__(self):
        self.problems: list[tuple[str, str]] = []

    @staticmethod
    def _say(what, message):
        return f"{what}: {message}" if what else message

    def structure(self, value, where, what, expected):
        if not isinstance(value, str):
            return value if value is not None else expected()
        if not value.strip():
            return expected()
        try:
            parsed = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            at = f" en la línea {mark.line + 1}, columna {mark.column + 1}" if mark else ""
            self.problems.append((where, self._say(what, f"YAML inválido{at}")))
            return expected()
        except RecursionError:  # the YAML composer recurses once per nesting level
            parsed = _TOO_DEEP
        if parsed is _TOO_DEEP or _depth(parsed) > MAX_NESTING:
            message = _("demasiados niveles de anidación (máximo %(n)s)", n=MAX_NESTING)
            self.problems.append((where, self._say(what, message)))
            return expected()
        if parsed is None:
            return expected()
        if not isinstance(parsed, expected):
            shape = "una lista (cada elemento empieza con «- »)" if expected is list else "un mapa"
            self.problems.append((where, self._say(what, f"se esperaba {shape}")))
            return expected()
        # dates and other YAML types are stored as JSON text, so keep what JSON keeps
        return json.loads(json.dumps(parsed, default=str))

    def integer(self, value, where, what, default=None):
        if value is None or (isinstance(value, str) and not value.strip()):
            return default
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).strip()
        if re.fullmatch(r"-?\d{1,9}", text):
            return int(text)
        self.problems.append((where, self._say(what, "escriba un número entero")))
        return default


_TOO_DEEP = object()


def _depth(value, level: int = 0) -> int:
    """How deeply lists and maps nest in `value`, counted up to just past the limit."""
    if level > MAX_NESTING or not isinstance(value, dict | list):
        return level
    items = value.values() if isinstance(value, dict) else value
    return max((_depth(item, level + 1) for item in items), default=level + 1)


def _too_long(defn: dict) -> list[tuple[str, str]]:
    """(where, message) for each text longer than the column that stores it."""
    problems = []

    def check(section, row, where):
        model, renamed = COLUMNS[section]
        for key, value in row.items():
            column = model._meta.fields.get(renamed.get(key, key))
            limit = getattr(column, "max_length", None)
            if limit and isinstance(value, str) and len(value) > limit:
                label = ATTRIBUTE_LABELS.get(key, key)
                message = _("%(what)s: máximo %(n)s caracteres", what=label, n=limit)
                problems.append((where or key, message))

    check(None, {k: v for k, v in defn.items() if k not in COLUMNS}, "")
    for section in ("fields", "checklist", "states", "transitions"):
        for i, row in enumerate(defn.get(section) or []):
            check(section, row, f"{section}[{i}]")
    return problems


def _text(value) -> str:
    return str(value).strip() if value is not None else ""


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value or []]


def definition_from_draft(draft: dict) -> tuple[dict, list[tuple[str, str]]]:
    """The definition a draft describes, and what in it could not be read."""
    reader = _Draft()
    name = _text(draft.get("name"))
    defn = {
        "slug": _text(draft.get("slug")) or key_from(name, "-"),
        "name": name,
        "name_en": _text(draft.get("name_en")),
        "description": _text(draft.get("description")),
        "category": _text(draft.get("category")) or "support",
        "open_roles": _strings(draft.get("open_roles")),
        "queue_level": reader.integer(draft.get("queue_level"), "queue_level", "", 1),
        "deadline_days": reader.integer(draft.get("deadline_days"), "deadline_days", ""),
        "on_open": reader.structure(draft.get("on_open"), "on_open", "", list),
        "active": bool(draft.get("active", True)),
        "order": reader.integer(draft.get("order"), "order", "", 0),
    }
    fields = []
    for i, row in enumerate(draft.get("fields") or []):
        where = f"fields[{i}]"
        fields.append(
            {
                "name": _text(row.get("name")) or key_from(_text(row.get("label"))),
                "label": _text(row.get("label")),
                "label_en": _text(row.get("label_en")),
                "help_text": _text(row.get("help_text")),
                "kind": _text(row.get("kind")) or "text",
                "required": bool(row.get("required")),
                "order": reader.integer(row.get("order"), where, "orden", i),
                "fieldset": _text(row.get("fieldset")),
                "default": _text(row.get("default")),
                "choices": choices_from_text(row.get("choices")),
                "options": reader.structure(row.get("options"), where, "ajustes", dict),
            }
        )
    checklist = []
    for i, row in enumerate(draft.get("checklist") or []):
        where = f"checklist[{i}]"
        checklist.append(
            {
                "key": _text(row.get("key")) or key_from(_text(row.get("label"))),
                "label": _text(row.get("label")),
                "label_en": _text(row.get("label_en")),
                "required": bool(row.get("required")),
                "roles": _strings(row.get("roles")),
                "evidence": _text(row.get("evidence")) or "none",
                "hours": reader.integer(row.get("hours"), where, "horas"),
                "schedulable": bool(row.get("schedulable")),
                "order": reader.integer(row.get("order"), where, "orden", i),
            }
        )
    states = []
    for i, row in enumerate(draft.get("states") or []):
        states.append(
            {
                "key": _text(row.get("key")) or key_from(_text(row.get("label"))),
                "label": _text(row.get("label")),
                "label_en": _text(row.get("label_en")),
                "category": _text(row.get("category")) or "open",
                "initial": bool(row.get("initial")),
                "order": reader.integer(row.get("order"), f"states[{i}]", "orden", i),
            }
        )
    transitions = []
    for i, row in enumerate(draft.get("transitions") or []):
        where = f"transitions[{i}]"
        transitions.append(
            {
                "name": _text(row.get("name")) or key_from(_text(row.get("label"))),
                "label": _text(row.get("label")),
                "label_en": _text(row.get("label_en")),
                "from": _strings(row.get("from")),
                "to": _text(row.get("to")),
                "roles": _strings(row.get("roles")),
                "guards": [
                    g if isinstance(g, str) else g.get("kind", "")
                    for g in row.get("guards") or []
                    if isinstance(g, str | dict)
                ],
                "effects": reader.structure(row.get("effects"), where, "efectos", list),
                "order": reader.integer(row.get("order"), where, "orden", i),
            }
        )
    defn.update(fields=fields, checklist=checklist, states=states, transitions=transitions)
    return defn, reader.problems


def _split(error: str) -> tuple[str, str]:
    """'slug: where: message' (validate_definition's form) as (where, message)."""
    rest = error.split(": ", 1)[1] if ": " in error else error
    where, _sep, message = rest.partition(": ")
    return (where, message) if message else ("", rest)


def fingerprint(definition: dict) -> str:
    """A short digest of a definition: the designer form carries the one it was read from."""
    text = json.dumps(definition, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def save_type(
    actor, draft: dict, type_id: int | None = None, *, based_on: str | None = None
) -> TicketTypeVersion:
    """Create (no `type_id`) or edit a whole type and publish it; its current version.

    Editing a type that tickets use makes a new version; the tickets keep theirs. A draft
    with any mistake raises DefinitionInvalid with every mistake and writes nothing. With
    `based_on` (the fingerprint of the definition the editor started from), an edit made
    over someone else's newer save raises StaleVersion instead of silently replacing it.
    """
    _require_agq(actor)
    existing = None
    if type_id is not None:
        existing = TicketType.get_or_none(TicketType.id == type_id)
        if existing is None:
            raise NotFound(_("Ese tipo de ticket no existe."))
    defn, problems = definition_from_draft(draft)
    problems.extend(_too_long(defn))
    if existing is not None:
        defn["slug"] = existing.slug  # other types, templates and queues refer to it
    elif defn["slug"] and TicketType.select().where(TicketType.slug == defn["slug"]).exists():
        problems.append(("slug", f"ya existe un tipo con el identificador {defn['slug']!r}"))
    known = {t.slug for t in TicketType.select(TicketType.slug)} | {defn["slug"]}
    problems.extend(_split(e) for e in validate_definition(defn, known))
    if problems:
        raise DefinitionInvalid(problems, defn)
    try:
        with db.atomic():
            if existing is not None and based_on is not None:
                locked = TicketType.select().where(TicketType.id == existing.id)
                if not isinstance(db.obj, SqliteDatabase):  # SQLite serializes writers
                    locked = locked.for_update()
                if fingerprint(definition_of(locked.get())) != based_on:
                    raise StaleVersion(
                        _(
                            "Otra persona guardó cambios en este tipo mientras usted lo "
                            "editaba. Sus datos siguen en el formulario: revise la versión "
                            "actual y guarde de nuevo para reemplazarla."
                        )
                    )
            ticket_type = process_io.import_type(defn)
            return current_version(ticket_type)
    except IntegrityError:  # another AGQ created the same slug a moment ago
        raise DefinitionInvalid(
            [("slug", f"ya existe un tipo con el identificador {defn['slug']!r}")], defn
        ) from None


def draft_of(actor, type_id: int) -> tuple[TicketType, dict]:
    """A type and its current definition, for the designer's form."""
    _require_agq(actor)
    ticket_type = TicketType.get_or_none(TicketType.id == type_id)
    if ticket_type is None:
        raise NotFound(_("Ese tipo de ticket no existe."))
    return ticket_type, definition_of(ticket_type)


def types_overview(actor) -> list[TicketType]:
    """Every type with `version_number` and `ticket_count`, in one query."""
    _require_agq(actor)
    version = TicketTypeVersion.select(fn.MAX(TicketTypeVersion.number)).where(
        TicketTypeVersion.ticket_type == TicketType.id
    )
    tickets = Ticket.select(fn.COUNT(Ticket.id)).where(Ticket.type == TicketType.id)
    return list(
        TicketType.select(
            TicketType,
            fn.COALESCE(version, 0).alias("version_number"),
            fn.COALESCE(tickets, 0).alias("ticket_count"),
        ).order_by(TicketType.order, TicketType.slug)
    )


def type_usage(ticket_type: TicketType) -> dict:
    """The number of a type's newest version and how many tickets it has."""
    return {
        "version": TicketTypeVersion.select(fn.MAX(TicketTypeVersion.number))
        .where(TicketTypeVersion.ticket_type == ticket_type.id)
        .scalar()
        or 0,
        "tickets": Ticket.select().where(Ticket.type == ticket_type.id).count(),
    }


def export_process_text(actor) -> str:
    """The whole process (types, tracking template, mail templates) as one YAML text."""
    _require_agq(actor)
    return process_io.dump_yaml(process_io.export_process())


def import_process_text(actor, text: str) -> dict:
    """Import a process file: all or nothing, idempotent; counts of what it holds."""
    _require_agq(actor)
    if not (text or "").strip():
        raise DefinitionInvalid([("", _("El archivo está vacío."))])
    try:
        return process_io.import_process(process_io.parse(text))
    except process_io.ImportErrors as exc:
        raise DefinitionInvalid([("", line) for line in exc.errors]) from None
