"""Validating a field's options and a whole form's values, the one check the services call."""

from flask_babel import lazy_gettext as _l

from ticketing.fields.base import FieldError, is_empty, is_multiple, numeric_option
from ticketing.fields.kinds import SIMPLE_CLEANERS, clean_file, clean_person


def option_errors(field: dict) -> list[str]:
    """Mistakes in a field's kind-specific options, for the designer and the importer."""
    options, errors = field.get("options"), []
    if options is None:
        return errors
    if not isinstance(options, dict):
        return ["las opciones deben ser un mapa"]

    def given(key):
        return options.get(key) not in (None, "")

    limit = numeric_option(field, "max_length")
    if given("max_length") and not (
        limit is not None and limit >= 1 and limit == limit.to_integral_value()
    ):
        errors.append("max_length debe ser un entero positivo")
    for bound in ("min", "max"):
        if given(bound) and numeric_option(field, bound) is None:
            errors.append(f"{bound} debe ser un número")
    low, high = numeric_option(field, "min"), numeric_option(field, "max")
    if low is not None and high is not None and low > high:
        errors.append("min no puede ser mayor que max")
    if given("max_mb") and not (numeric_option(field, "max_mb") or 0) > 0:
        errors.append("max_mb debe ser un número positivo")
    extensions = options.get("extensions")
    if extensions is not None and not (
        isinstance(extensions, str)
        or (isinstance(extensions, list) and all(isinstance(e, str) for e in extensions))
    ):
        errors.append("extensions debe ser una lista de extensiones (pdf, png...)")
    return errors


def is_blank(field, value) -> bool:
    """Whether `value` counts as not given for `field` (an unticked check is blank)."""
    if field["kind"] == "check" and value is False:
        return True
    return is_empty(value)


def _empty_value(field):
    """What an optional field left blank stores."""
    if field["kind"] == "check":
        return False
    return [] if is_multiple(field) else None


def clean_value(field: dict, value, *, people=None, max_mb=10):
    """The stored form of `value` for `field`, or FieldError."""
    kind = field["kind"]
    if kind == "file":
        return clean_file(value, field, max_mb)
    if kind == "person":
        return clean_person(value, field, people or {})
    try:
        cleaner = SIMPLE_CLEANERS[kind]
    except KeyError:
        raise FieldError(_l("Tipo de campo desconocido.")) from None
    return cleaner(value, field)


def clean_values(fields: list[dict], raw: dict, *, people=None, max_mb=10, partial=False):
    """Validate every field of a definition: (values, errors by field name).

    With `partial`, fields absent from `raw` are left out rather than treated as blank.
    """
    values, errors = {}, {}
    known = {f["name"] for f in fields}
    for name in raw:
        if name not in known:
            errors[name] = str(_l("Campo desconocido."))
    for field in fields:
        name = field["name"]
        if partial and name not in raw:
            continue
        value = raw.get(name)
        if is_blank(field, value):
            if field.get("required"):
                message = (
                    _l("Debe marcar esta casilla.")
                    if field["kind"] == "check"
                    else _l("Este campo es obligatorio.")
                )
                errors[name] = str(message)
            else:
                values[name] = _empty_value(field)
            continue
        try:
            values[name] = clean_value(field, value, people=people, max_mb=max_mb)
        except FieldError as exc:
            errors[name] = exc.message
    return values, errors
