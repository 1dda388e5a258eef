"""What every part of the field kinds shares: the error, the uploaded file, a field's
options and choices."""

import decimal
from dataclasses import dataclass


class FieldError(ValueError):
    """A value a field does not accept; `message` is shown beside the field."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = str(message)


@dataclass(frozen=True)
class UploadedFile:
    """A file as the service layer receives it, whatever adapter read it."""

    filename: str
    content_type: str
    data: bytes


def field_options(field) -> dict:
    """The field's kind-specific options (an empty dict when unset or malformed)."""
    options = field.get("options")
    return options if isinstance(options, dict) else {}


def numeric_option(field, key) -> decimal.Decimal | None:
    """A numeric option of the field; None when unset or not a number (see option_errors)."""
    value = field_options(field).get(key)
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = decimal.Decimal(str(value).strip())
    except (decimal.InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def max_length(field) -> int:
    """How many characters a text field takes: its `max_length` option or the kind's default."""
    limit = numeric_option(field, "max_length")
    if limit is not None and limit >= 1:
        return int(limit)
    return 20000 if field["kind"] == "textarea" else 255


def is_empty(value) -> bool:
    """Whether a raw value is nothing at all: None, blank text or an empty collection."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | tuple | dict | set) and not value


def is_multiple(field) -> bool:
    """Whether the field holds a list (a multichoice, or a person field with `multiple`)."""
    return field["kind"] == "multichoice" or (
        field["kind"] == "person" and bool(field_options(field).get("multiple"))
    )


def choice_pairs(field, english=False) -> list[tuple[str, str]]:
    """(value, label) of each choice; a bare value is its own label.

    `english`: the label from `choices_en` (value -> label) where it has one.
    """
    pairs = []
    for choice in field.get("choices") or []:
        if isinstance(choice, list | tuple) and choice:
            value = str(choice[0])
            pairs.append((value, str(choice[1]) if len(choice) > 1 else value))
        elif not isinstance(choice, list | tuple):
            pairs.append((str(choice), str(choice)))
    english_labels = (field.get("choices_en") or {}) if english else {}
    if isinstance(english_labels, dict) and english_labels:
        pairs = [(value, english_labels.get(value) or label) for value, label in pairs]
    return pairs


def allowed_extensions(field) -> list[str]:
    """The file extensions a file field accepts, lowercased without the dot (empty: any)."""
    allowed = field_options(field).get("extensions") or []
    if isinstance(allowed, str):
        allowed = allowed.split(",")
    elif not isinstance(allowed, list | tuple):
        return []  # reported by option_errors
    return [str(e).strip().lower().lstrip(".") for e in allowed if str(e).strip()]


TRUE_WORDS = {"1", "true", "y", "yes", "on", "si", "sí", "verdadero"}
