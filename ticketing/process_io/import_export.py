"""Reading, validating, importing and exporting a whole process file.

Import is idempotent and all-or-nothing: every mistake is reported with its location and
nothing is written unless the whole file is valid.
"""

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
from ticketing.process_io.schema import FORMAT, TEMPLATE_KEYS, schema_errors

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
            import_type(defn)
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


def import_type(defn: dict) -> TicketType:
    """Create or update one ticket type from a valid definition and publish it as its current
    version (a version tickets already use is never changed)."""
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
