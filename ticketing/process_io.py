"""Import and export of a whole process: ticket types, tracking template, mail templates.

The file format is YAML (JSON is valid YAML too):

    format: mesa-process/1
    tracking_template: [label, ...]
    ticket_types: [definition, ...]      # see definitions.definition_of
    notification_templates: [{event, type_slug, locale, subject, text, html}, ...]

Import is idempotent and all-or-nothing: every mistake is reported with its location
and nothing is written unless the whole file is valid.
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

FORMAT = "mesa-process/1"
TYPE_KEYS = (
    "slug",
    "name",
    "name_en",
    "description",
    "category",
    "open_roles",
    "queue_level",
    "deadline_days",
    "on_open",
    "active",
    "order",
    "fields",
    "checklist",
    "states",
    "transitions",
)
TEMPLATE_KEYS = ("event", "type_slug", "locale", "subject", "text", "html")


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
            item.label for item in DefaultTrackingItem.select().order_by(DefaultTrackingItem.order)
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


def parse(text: str) -> dict:
    """Parse a process file; YAML syntax errors come back as ImportErrors with a line."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"línea {mark.line + 1}, columna {mark.column + 1}" if mark else "archivo"
        raise ImportErrors([f"{where}: YAML inválido ({getattr(exc, 'problem', exc)})"]) from None
    if not isinstance(data, dict):
        raise ImportErrors(["archivo: se esperaba un mapa con ticket_types"])
    return data


def validate_process(data: dict) -> list[str]:
    """Every mistake in a process document, each with its location."""
    errors = []
    if data.get("format", FORMAT) != FORMAT:
        errors.append(f"format: se esperaba {FORMAT!r}")
    types = data.get("ticket_types") or []
    if not isinstance(types, list):
        return errors + ["ticket_types: se esperaba una lista"]
    slugs = [t.get("slug") for t in types if isinstance(t, dict)]
    known = set(slugs) | {t.slug for t in TicketType.select(TicketType.slug)}
    for i, defn in enumerate(types):
        if not isinstance(defn, dict):
            errors.append(f"ticket_types[{i}]: se esperaba un mapa")
            continue
        unknown = set(defn) - set(TYPE_KEYS)
        for key in sorted(unknown):
            errors.append(f"ticket_types[{i}] ({defn.get('slug')}): clave desconocida {key!r}")
        errors.extend(f"ticket_types[{i}] {e}" for e in validate_definition(defn, known))
    for slug in {s for s in slugs if slugs.count(s) > 1}:
        errors.append(f"ticket_types: slug repetido {slug!r}")
    tracking = data.get("tracking_template") or []
    if not isinstance(tracking, list) or not all(isinstance(x, str) and x for x in tracking):
        errors.append("tracking_template: se esperaba una lista de textos")
    for i, tpl in enumerate(data.get("notification_templates") or []):
        if not isinstance(tpl, dict):
            errors.append(f"notification_templates[{i}]: se esperaba un mapa")
            continue
        for key in ("event", "subject", "text"):
            if not tpl.get(key):
                errors.append(f"notification_templates[{i}]: falta {key!r}")
        for key in sorted(set(tpl) - set(TEMPLATE_KEYS)):
            errors.append(f"notification_templates[{i}]: clave desconocida {key!r}")
        if tpl.get("type_slug") and tpl["type_slug"] not in known:
            errors.append(f"notification_templates[{i}]: tipo desconocido {tpl['type_slug']!r}")
        for key in ("subject", "text", "html"):
            if tpl.get(key):
                error = _template_error(tpl[key])
                if error:
                    errors.append(f"notification_templates[{i}].{key}: {error}")
    return errors


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
        for order, label in enumerate(data.get("tracking_template") or [], start=1):
            item, created = DefaultTrackingItem.get_or_create(
                label=label, defaults={"order": order}
            )
            if not created and item.order != order:
                item.order = order
                item.save()
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
