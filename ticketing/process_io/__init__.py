"""Import and export of a whole process: ticket types, tracking template, mail templates.

The file format is YAML (JSON is valid YAML too):

    format: mesa-process/1
    tracking_template: [{label, label_en}, ...]   # or plain labels
    ticket_types: [definition, ...]      # see definitions.definition_of
    notification_templates: [{event, type_slug, locale, subject, text, html}, ...]

Every level of the document has a fixed set of keys (`DOCUMENT` below): an unknown key,
such as the half of a text cut at an unquoted comma, is refused with its location.
Import is idempotent and all-or-nothing: every mistake is reported with its location
and nothing is written unless the whole file is valid. English texts a file leaves out
(`description_en`, `help_text_en`, `choices_en`, a tracking item's `label_en`) keep
what is there, so a designer that does not edit them does not erase them.
"""

from dataclasses import dataclass

import yaml

from ticketing.db import db
from ticketing.definitions import definition_of, publish, validate_definition
from ticketing.models import (
    ChecklistItemDef,
    DefaultTrackingItem,
    FieldDef,
    NotificationTemplate,
    StateDef,
    TicketType,
    TransitionDef,
)

FORMAT = "mesa-process/1"
TEMPLATE_KEYS = ("event", "type_slug", "locale", "subject", "text", "html")
# a process file is a few thousand nodes a handful of levels deep; far beyond that is a
# mistake or an attack, refused before the recursive YAML composer can run out of stack
MAX_DEPTH = 20
MAX_NODES = 200_000
MAX_CHARS = 5_000_000


class ImportErrors(Exception):
    """The file has mistakes; `errors` lists each with its location. Nothing was written."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


# ---------------------------------------------------------------- the schema


@dataclass(frozen=True)
class Scalar:
    """A leaf: text, integer, yes/no or number; `nullable` lets it be left empty (null)."""

    kind: str
    nullable: bool = False


@dataclass(frozen=True)
class ListOf:
    item: object


@dataclass(frozen=True)
class Keys:
    """A mapping with only these keys; `required` ones must be there (else the rules say)."""

    keys: dict
    required: tuple = ()


@dataclass(frozen=True)
class TextMap:
    """A mapping of text keys to scalar values (choice labels, field maps of an effect)."""


@dataclass(frozen=True)
class AnyOf:
    options: tuple
    expected: str


@dataclass(frozen=True)
class Free:
    """Checked elsewhere (effects and options: see definitions.validate_definition)."""

    container: type


TEXT, INTEGER, BOOLEAN = Scalar("text"), Scalar("integer"), Scalar("boolean")
SCALAR = AnyOf((TEXT, Scalar("number"), BOOLEAN), "un texto o un número")
TEXTS = ListOf(TEXT)
EFFECTS = ListOf(Free(dict))
FIELD = Keys(
    {
        "name": TEXT,
        "label": TEXT,
        "label_en": TEXT,
        "help_text": TEXT,
        "help_text_en": TEXT,
        "kind": TEXT,
        "required": BOOLEAN,
        "order": INTEGER,
        "fieldset": TEXT,
        "default": Scalar("scalar", nullable=True),
        # a bare value, or [value, label]
        "choices": ListOf(AnyOf((SCALAR, ListOf(SCALAR)), "un valor o [valor, etiqueta]")),
        "choices_en": TextMap(),
        "options": Free(dict),
    }
)
CHECKLIST_ITEM = Keys(
    {
        "key": TEXT,
        "label": TEXT,
        "label_en": TEXT,
        "required": BOOLEAN,
        "roles": TEXTS,
        "evidence": TEXT,
        "hours": Scalar("integer", nullable=True),
        "schedulable": BOOLEAN,
        "order": INTEGER,
    }
)
STATE = Keys(
    {
        "key": TEXT,
        "label": TEXT,
        "label_en": TEXT,
        "category": TEXT,
        "initial": BOOLEAN,
        "order": INTEGER,
    }
)
TRANSITION = Keys(
    {
        "name": TEXT,
        "label": TEXT,
        "label_en": TEXT,
        "from": TEXTS,
        "to": TEXT,
        "roles": TEXTS,
        "guards": ListOf(AnyOf((TEXT, Keys({"kind": TEXT})), "un nombre de condición")),
        "effects": EFFECTS,
        "order": INTEGER,
    }
)
TICKET_TYPE = Keys(
    {
        "slug": TEXT,
        "name": TEXT,
        "name_en": TEXT,
        "description": TEXT,
        "description_en": TEXT,
        "category": TEXT,
        "open_roles": TEXTS,
        "queue_level": INTEGER,
        "deadline_days": Scalar("integer", nullable=True),
        "on_open": EFFECTS,
        "active": BOOLEAN,
        "order": INTEGER,
        "fields": ListOf(FIELD),
        "checklist": ListOf(CHECKLIST_ITEM),
        "states": ListOf(STATE),
        "transitions": ListOf(TRANSITION),
    }
)
TRACKING_ITEM = AnyOf(
    (TEXT, Keys({"label": TEXT, "label_en": TEXT}, required=("label",))),
    "un texto o {label, label_en}",
)
TEMPLATE = Keys({key: TEXT for key in TEMPLATE_KEYS})
DOCUMENT = Keys(
    {
        "format": TEXT,
        "tracking_template": ListOf(TRACKING_ITEM),
        "ticket_types": ListOf(TICKET_TYPE),
        "notification_templates": ListOf(TEMPLATE),
    }
)

_EXPECTED = {
    "text": "un texto",
    "integer": "un entero",
    "boolean": "true o false",
    "number": "un número",
    "scalar": "un texto o un número",
}


def check_schema(value, spec) -> list[str]:
    """Where `value` departs from `spec` (a Keys, ListOf, Scalar...), each with its location."""
    return _schema_errors(value, spec, "")


def _fits(value, spec) -> bool:
    return not _schema_errors(value, spec, "")


def _scalar_ok(value, kind: str) -> bool:
    if kind == "text":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, str | int | float)  # scalar (bool is an int)


def _schema_errors(value, spec, where: str) -> list[str]:
    """Where `value` departs from `spec`: unknown keys and values of the wrong shape."""
    here = where or "archivo"
    if isinstance(spec, Scalar):
        if value is None and spec.nullable:
            return []
        if _scalar_ok(value, spec.kind):
            return []
        return [f"{here}: se esperaba {_EXPECTED[spec.kind]}"]
    if isinstance(spec, AnyOf):
        if any(_fits(value, option) for option in spec.options):
            return []
        for option in spec.options:  # the mapping form's own mistakes say more
            if isinstance(option, Keys) and isinstance(value, dict):
                return _schema_errors(value, option, where)
        return [f"{here}: se esperaba {spec.expected}"]
    if isinstance(spec, Free):
        if isinstance(value, spec.container):
            return []
        return [f"{here}: se esperaba {'un mapa' if spec.container is dict else 'una lista'}"]
    if isinstance(spec, ListOf):
        if not isinstance(value, list):
            return [f"{here}: se esperaba una lista"]
        errors = []
        for i, item in enumerate(value):
            errors += _schema_errors(item, spec.item, f"{where}[{i}]")
        return errors
    if not isinstance(value, dict):
        return [f"{here}: se esperaba un mapa"]
    if isinstance(spec, TextMap):
        return [
            f"{here}: {key!r}: se esperaba un texto"
            for key, item in value.items()
            if not isinstance(key, str | int) or not isinstance(item, str)
        ]
    errors = [f"{here}: falta {key!r}" for key in spec.required if key not in value]
    for key, item in value.items():
        if key not in spec.keys:
            errors.append(f"{here}: clave desconocida {key!r}")
        elif item is not None or _scalar_nullable(spec.keys[key]):
            errors += _schema_errors(item, spec.keys[key], f"{where}.{key}" if where else key)
        else:
            errors.append(f"{where}.{key}: falta el valor" if where else f"{key}: falta el valor")
    return errors


def _scalar_nullable(spec) -> bool:
    return isinstance(spec, Scalar) and spec.nullable


def schema_errors(data) -> list[str]:
    """Unknown keys and wrongly shaped values in a process document, each with its location."""
    if not isinstance(data, dict):
        return ["archivo: se esperaba un mapa con ticket_types"]
    # a top-level list left empty (null) means none, as it always has
    rest = {k: v for k, v in data.items() if k != "ticket_types" and v is not None}
    errors = _schema_errors(rest, DOCUMENT, "")
    types = data.get("ticket_types")
    if types is None:
        return errors
    if not isinstance(types, list):
        return errors + ["ticket_types: se esperaba una lista"]
    for i, defn in enumerate(types):
        slug = defn.get("slug") if isinstance(defn, dict) else None
        prefix = (
            f"ticket_types[{i}] {slug}" if isinstance(slug, str) and slug else f"ticket_types[{i}]"
        )
        for error in _schema_errors(defn, TICKET_TYPE, ""):
            # "archivo: ..." for the type itself, "fields[2]: ..." within it
            where, _sep, message = error.partition(": ")
            errors.append(f"{prefix}: {message}" if where == "archivo" else f"{prefix}: {error}")
    return errors


# ---------------------------------------------------------------- reading and writing


def export_process() -> dict:
    """The whole process as one plain dict."""
    return {
        "format": FORMAT,
        "tracking_template": [
            {"label": item.label, "label_en": item.label_en}
            for item in DefaultTrackingItem.select().order_by(DefaultTrackingItem.order)
        ],
        "ticket_types": [
            definition_of(t)
            for t in TicketType.select().order_by(TicketType.order, TicketType.slug)
        ],
        "notification_templates": [
            {key: getattr(t, key) for key in TEMPLATE_KEYS}
            for t in NotificationTemplate.select().order_by(
                NotificationTemplate.event,
                NotificationTemplate.type_slug,
                NotificationTemplate.locale,
            )
        ],
    }


def dump_yaml(data: dict) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def _check_shape(text: str) -> None:
    """Refuse a document too deep, too big or circular before it is built.

    PyYAML's parser is iterative but its composer recurses once per level, and an alias
    is a shared reference: checking the events first keeps both bounded.
    """
    if len(text) > MAX_CHARS:
        raise ImportErrors([f"archivo: más de {MAX_CHARS} caracteres"])
    depth, nodes, sizes, open_nodes = 0, 0, {}, []
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = f"línea {event.start_mark.line + 1}" if event.start_mark else "archivo"
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in sizes:
                raise ImportErrors([f"{line}: referencia circular *{event.anchor}"])
            nodes += sizes[event.anchor]
        elif isinstance(event, yaml.ScalarEvent):
            nodes += 1
            if event.anchor:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise ImportErrors([f"{line}: anidado a más de {MAX_DEPTH} niveles"])
            open_nodes.append((event.anchor, nodes))
            nodes += 1
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
            anchor, start = open_nodes.pop()
            if anchor:
                sizes[anchor] = nodes - start
        if nodes > MAX_NODES:
            raise ImportErrors([f"{line}: más de {MAX_NODES} elementos"])


def parse(text: str) -> dict:
    """Parse a process file; YAML syntax errors come back as ImportErrors with a line."""
    try:
        _check_shape(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"línea {mark.line + 1}, columna {mark.column + 1}" if mark else "archivo"
        raise ImportErrors([f"{where}: YAML inválido ({getattr(exc, 'problem', exc)})"]) from None
    except RecursionError:  # the depth check makes this unreachable; never a 500 if not
        raise ImportErrors([f"archivo: anidado a más de {MAX_DEPTH} niveles"]) from None
    if not isinstance(data, dict):
        raise ImportErrors(["archivo: se esperaba un mapa con ticket_types"])
    return data


def validate_process(data: dict) -> list[str]:
    """Every mistake in a process document, each with its location."""
    errors = schema_errors(data)
    if errors:
        # the rules below read the document's shape; with a wrong shape they would only
        # repeat the same mistakes less clearly
        return errors
    if data.get("format", FORMAT) != FORMAT:
        errors.append(f"format: se esperaba {FORMAT!r}")
    types = data.get("ticket_types") or []
    slugs = [t.get("slug") for t in types]
    known = set(slugs) | {t.slug for t in TicketType.select(TicketType.slug)}
    for i, defn in enumerate(types):
        errors.extend(f"ticket_types[{i}] {e}" for e in validate_definition(defn, known))
    for slug in {s for s in slugs if slugs.count(s) > 1}:
        errors.append(f"ticket_types: slug repetido {slug!r}")
    labels = [_tracking_item(x)["label"] for x in data.get("tracking_template") or []]
    for i, label in enumerate(labels):
        if not label.strip():
            errors.append(f"tracking_template[{i}]: falta la etiqueta")
        elif labels.index(label) != i:
            errors.append(f"tracking_template[{i}]: ítem repetido {label!r}")
    for i, tpl in enumerate(data.get("notification_templates") or []):
        for key in ("event", "subject", "text"):
            if not tpl.get(key):
                errors.append(f"notification_templates[{i}]: falta {key!r}")
        if tpl.get("type_slug") and tpl["type_slug"] not in known:
            errors.append(f"notification_templates[{i}]: tipo desconocido {tpl['type_slug']!r}")
        for key in ("subject", "text", "html"):
            if tpl.get(key):
                error = _template_error(tpl[key])
                if error:
                    errors.append(f"notification_templates[{i}].{key}: {error}")
    return errors


def _tracking_item(entry) -> dict:
    """A tracking template entry as {label[, label_en]}, whichever form the file used."""
    return {"label": entry} if isinstance(entry, str) else dict(entry, label=entry.get("label", ""))


def _template_error(source: str) -> str | None:
    from jinja2 import TemplateSyntaxError
    from jinja2.sandbox import SandboxedEnvironment

    try:
        SandboxedEnvironment().parse(source)
    except TemplateSyntaxError as exc:
        return f"plantilla inválida en la línea {exc.lineno}: {exc.message}"
    return None


def import_process(data: dict) -> dict:
    """Create or update everything in `data`; all or nothing. Returns counts."""
    errors = validate_process(data)
    if errors:
        raise ImportErrors(errors)
    counts = {"ticket_types": 0, "tracking_template": 0, "notification_templates": 0}
    with db.atomic():
        for order, entry in enumerate(data.get("tracking_template") or [], start=1):
            wanted = _tracking_item(entry)
            item, created = DefaultTrackingItem.get_or_create(
                label=wanted["label"],
                defaults={"order": order, "label_en": wanted.get("label_en", "")},
            )
            changes = {"order": order, "label_en": wanted.get("label_en", item.label_en)}
            if not created and any(getattr(item, k) != v for k, v in changes.items()):
                DefaultTrackingItem.update(**changes).where(
                    DefaultTrackingItem.id == item.id
                ).execute()
            counts["tracking_template"] += 1
        for defn in data.get("ticket_types") or []:
            _import_type(defn)
            counts["ticket_types"] += 1
        for tpl in data.get("notification_templates") or []:
            values = {
                "subject": tpl["subject"],
                "text": tpl["text"],
                "html": tpl.get("html", ""),
            }
            row = NotificationTemplate.get_or_none(
                (NotificationTemplate.event == tpl["event"])
                & (NotificationTemplate.type_slug == tpl.get("type_slug", ""))
                & (NotificationTemplate.locale == tpl.get("locale", "es"))
            )
            if row is None:
                NotificationTemplate.create(
                    event=tpl["event"],
                    type_slug=tpl.get("type_slug", ""),
                    locale=tpl.get("locale", "es"),
                    **values,
                )
            elif any(getattr(row, k) != v for k, v in values.items()):
                NotificationTemplate.update(**values).where(
                    NotificationTemplate.id == row.id
                ).execute()
            counts["notification_templates"] += 1
    return counts


def _import_type(defn: dict) -> TicketType:
    attrs = {
        "name": defn["name"],
        "name_en": defn.get("name_en", ""),
        "description": defn.get("description", ""),
        "category": defn.get("category", "support"),
        "open_roles": defn.get("open_roles", []),
        "queue_level": defn.get("queue_level", 1),
        "deadline_days": defn.get("deadline_days"),
        "on_open": defn.get("on_open", []),
        "active": defn.get("active", True),
        "order": defn.get("order", 0),
    }
    if "description_en" in defn:
        attrs["description_en"] = defn["description_en"]
    ticket_type = TicketType.get_or_none(TicketType.slug == defn["slug"])
    if ticket_type is None:
        ticket_type = TicketType.create(slug=defn["slug"], **attrs)
    else:
        TicketType.update(**attrs).where(TicketType.id == ticket_type.id).execute()
        ticket_type = TicketType.get_by_id(ticket_type.id)
    _replace_rows(
        ticket_type,
        FieldDef,
        "name",
        [
            {
                "name": f["name"],
                "label": f["label"],
                "label_en": f.get("label_en", ""),
                "help_text": f.get("help_text", ""),
                "kind": f["kind"],
                "required": f.get("required", False),
                "order": f.get("order", i),
                "fieldset": f.get("fieldset", ""),
                "default": f.get("default", "") or "",
                "choices": f.get("choices", []),
                "options": f.get("options", {}),
                **{k: f[k] for k in ("help_text_en", "choices_en") if k in f},
            }
            for i, f in enumerate(defn.get("fields", []))
        ],
    )
    _replace_rows(
        ticket_type,
        ChecklistItemDef,
        "key",
        [
            {
                "key": c["key"],
                "label": c["label"],
                "label_en": c.get("label_en", ""),
                "required": c.get("required", True),
                "roles": c.get("roles", []),
                "evidence": c.get("evidence", "none"),
                "hours": c.get("hours"),
                "schedulable": c.get("schedulable", False),
                "order": c.get("order", i),
            }
            for i, c in enumerate(defn.get("checklist", []))
        ],
    )
    _replace_rows(
        ticket_type,
        StateDef,
        "key",
        [
            {
                "key": s["key"],
                "label": s["label"],
                "label_en": s.get("label_en", ""),
                "category": s["category"],
                "initial": s.get("initial", False),
                "order": s.get("order", i),
            }
            for i, s in enumerate(defn.get("states", []))
        ],
    )
    _replace_rows(
        ticket_type,
        TransitionDef,
        "name",
        [
            {
                "name": t["name"],
                "label": t["label"],
                "label_en": t.get("label_en", ""),
                "from_states": t.get("from", []),
                "to_state": t["to"],
                "roles": t.get("roles", []),
                "guards": t.get("guards", []),
                "effects": t.get("effects", []),
                "order": t.get("order", i),
            }
            for i, t in enumerate(defn.get("transitions", []))
        ],
    )
    publish(ticket_type)
    return ticket_type


def _replace_rows(ticket_type, model, key, rows):
    """Make the type's child rows exactly `rows`, touching only what differs."""
    existing = {getattr(r, key): r for r in model.select().where(model.ticket_type == ticket_type)}
    wanted = {row[key] for row in rows}
    stale = [r.id for k, r in existing.items() if k not in wanted]
    if stale:
        model.delete().where(model.id.in_(stale)).execute()
    for row in rows:
        current = existing.get(row[key])
        if current is None:
            model.create(ticket_type=ticket_type, **row)
        elif any(getattr(current, k) != v for k, v in row.items()):
            model.update(**row).where(model.id == current.id).execute()
