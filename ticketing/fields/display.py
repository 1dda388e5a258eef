"""A stored field value as people read it on a ticket page or in a mail."""

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from ticketing.fields.base import choice_pairs
from ticketing.markup import render_comment

# kinds whose value people write at length: shown as safe Markdown on the ticket page
MARKDOWN_KINDS = ("textarea",)


def display_value(field: dict, value, people=None) -> str:
    """A value as people read it on a ticket page or in a mail."""
    kind = field["kind"]
    if kind in ("boolean", "check") and isinstance(value, bool):
        return str(_l("Sí")) if value else str(_l("No"))
    if value is None or value == "" or value == []:
        return "—"
    if kind in ("choice", "multichoice"):
        labels = dict(choice_pairs(field, english=str(get_locale()) == "en"))
        items = value if isinstance(value, list) else [value]
        return ", ".join(str(labels.get(str(v), v)) for v in items)
    if kind == "file":
        return str(value.get("filename", "")) if isinstance(value, dict) else str(value)
    if kind == "person":
        items = value if isinstance(value, list) else [value]
        people = people or {}
        return ", ".join(people.get(v if isinstance(v, int) else -1, f"#{v}") for v in items)
    if kind == "datetime" and isinstance(value, str):
        return value.replace("T", " ")
    return str(value)


def display_html(field: dict, value, people=None) -> Markup:
    """A value as the ticket page shows it: a long text as safe Markdown, the rest escaped."""
    if field["kind"] in MARKDOWN_KINDS and isinstance(value, str) and value.strip():
        return render_comment(value)
    return escape(display_value(field, value, people))
