"""The shape of a process file: every level's keys and value kinds, checked with locations.

Every level of the document has a fixed set of keys (`DOCUMENT`): an unknown key, such as
the half of a text cut at an unquoted comma, is refused with its location.
"""

from dataclasses import dataclass

FORMAT = "mesa-process/1"

TEMPLATE_KEYS = ("event", "type_slug", "locale", "subject", "text", "html")


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
