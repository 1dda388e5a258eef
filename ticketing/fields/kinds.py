"""Field kinds: how a raw value of each kind becomes the value stored on a ticket."""

import datetime as dt
import decimal
import re
import unicodedata

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from ticketing.fields.base import (
    TRUE_WORDS,
    FieldError,
    UploadedFile,
    allowed_extensions,
    choice_pairs,
    field_options,
    is_empty,
    max_length,
    numeric_option,
)
from ticketing.fields.ecuador import normalize_cedula, normalize_phone, normalize_ruc


def _forbidden_char(text: str, allowed: str = "") -> bool:
    """Whether `text` has a control character (NUL included) or a lone surrogate.

    Lone surrogates cannot be encoded to UTF-8, so the database would refuse them later.
    """
    return any(unicodedata.category(char) in ("Cc", "Cs") and char not in allowed for char in text)


def _string(value, field, allowed_controls):
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FieldError(_l("Escriba un texto."))
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").strip()
    limit = max_length(field)
    if len(text) > limit:
        raise FieldError(_l("Máximo %(n)s caracteres.", n=limit))
    if _forbidden_char(text, allowed_controls):
        raise FieldError(_l("El texto contiene caracteres no permitidos."))
    return text


def _text(value, field):
    return _string(value, field, "")


def _textarea(value, field):
    return _string(value, field, "\n\t")


_MAX_DIGITS = 15  # what a JSON number keeps exactly in every client (2**53 > 10**15)

_INTEGER = re.compile(r"[+-]?\d+", re.ASCII)

_DECIMAL = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)", re.ASCII)


def _integer(value, field):
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise FieldError(_l("Escriba un número entero."))
    if isinstance(value, str):
        text = value.strip()
        if not _INTEGER.fullmatch(text):
            raise FieldError(_l("Escriba un número entero."))
        significant = text.lstrip("+-").lstrip("0") or "0"
        if len(significant) > _MAX_DIGITS:
            raise FieldError(_l("El número es demasiado grande."))
        value = -int(significant) if text.startswith("-") else int(significant)
    if abs(value) >= 10**_MAX_DIGITS:
        raise FieldError(_l("El número es demasiado grande."))
    _bounds(value, field)
    return value


def _decimal(value, field):
    if isinstance(value, bool):
        raise FieldError(_l("Escriba un número."))
    if isinstance(value, int | float | decimal.Decimal):
        number = decimal.Decimal(str(value))
        if not number.is_finite():
            raise FieldError(_l("Escriba un número."))
    elif isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        number = decimal.Decimal(value.strip().replace(",", "."))
    else:
        raise FieldError(_l("Escriba un número."))
    if number.adjusted() >= _MAX_DIGITS:
        raise FieldError(_l("El número es demasiado grande."))
    if number.as_tuple().exponent < -_MAX_DIGITS:
        raise FieldError(_l("Escriba como máximo %(n)s decimales.", n=_MAX_DIGITS))
    if number.is_zero():
        number = abs(number)  # "-0" is stored as "0"
    _bounds(number, field)
    return format(number, "f")


def _bounds(number, field):
    low, high = numeric_option(field, "min"), numeric_option(field, "max")
    if low is not None and number < low:
        raise FieldError(_l("El valor mínimo es %(n)s.", n=field_options(field)["min"]))
    if high is not None and number > high:
        raise FieldError(_l("El valor máximo es %(n)s.", n=field_options(field)["max"]))


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)

_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)

# Field dates and times are wall-clock times in mainland Ecuador, which keeps UTC-5 all year;
# a value given with an offset (an API client in UTC) is converted to it.
ECUADOR = dt.timezone(dt.timedelta(hours=-5))


def _date(value, field):
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = value.strip() if isinstance(value, str) else ""
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError(text)
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise FieldError(_l("Escriba una fecha válida (AAAA-MM-DD).")) from None


def _datetime(value, field):
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        text = value.strip() if isinstance(value, str) else ""
        try:
            if not _ISO_DATETIME.fullmatch(text):
                raise ValueError(text)
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise FieldError(_l("Escriba una fecha y hora válidas (AAAA-MM-DD HH:MM).")) from None
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(ECUADOR)
        except OverflowError:
            raise FieldError(_l("Escriba una fecha y hora válidas (AAAA-MM-DD HH:MM).")) from None
    return parsed.replace(second=0, microsecond=0, tzinfo=None).isoformat(timespec="minutes")


def _email(value, field):
    if not isinstance(value, str) or _forbidden_char(value):
        raise FieldError(_l("Escriba un correo electrónico válido."))
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise FieldError(_l("Escriba un correo electrónico válido.")) from None


def _phone(value, field):
    return normalize_phone(value)


def _cedula(value, field):
    return normalize_cedula(value)


def _ruc(value, field):
    return normalize_ruc(value)


def _choice_values(field) -> list[str]:
    return [value for value, _label in choice_pairs(field)]


def _choice(value, field):
    value = str(value).strip() if isinstance(value, str | int) else None
    if value not in _choice_values(field):
        raise FieldError(_l("Elija una de las opciones."))
    return value


def _multichoice(value, field):
    if isinstance(value, str | int) and not isinstance(value, bool):
        value = [value]
    if not isinstance(value, list | tuple):
        raise FieldError(_l("Elija solo entre las opciones."))
    allowed = _choice_values(field)
    chosen = []
    for item in value:
        item = str(item).strip() if isinstance(item, str | int) else None
        if item not in allowed:
            raise FieldError(_l("Elija solo entre las opciones."))
        if item not in chosen:
            chosen.append(item)
    return chosen


_FALSE = {"0", "false", "n", "no", "off", "falso"}


def _boolean(value, field):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str | int) else ""
    if text in TRUE_WORDS:
        return True
    if text in _FALSE:
        return False
    raise FieldError(_l("Responda sí o no."))


def _check(value, field):
    checked = False if is_empty(value) else _boolean(value, field)
    if field.get("required") and not checked:
        raise FieldError(_l("Debe marcar esta casilla."))
    return checked


def clean_file(value, field, max_mb):
    """An uploaded file the field accepts (name, extension, size), or FieldError."""
    if not isinstance(value, UploadedFile):
        raise FieldError(_l("Adjunte un archivo."))
    own = numeric_option(field, "max_mb")
    limit_mb = min(float(own), float(max_mb)) if own is not None and own > 0 else float(max_mb)
    name = value.filename if isinstance(value.filename, str) else ""
    if (
        not name.strip()
        or name.strip() in (".", "..")
        or "/" in name
        or "\\" in name
        or len(name) > 255
        or _forbidden_char(name)
    ):
        raise FieldError(_l("El nombre del archivo no es válido."))
    extensions = allowed_extensions(field)
    suffix = name.rsplit(".", 1)[1].lower() if "." in name.strip(".") else ""
    if extensions and suffix not in extensions:
        raise FieldError(
            _l("Tipo de archivo no permitido; se aceptan: %(ext)s.", ext=", ".join(extensions))
        )
    if not value.data:
        raise FieldError(_l("El archivo está vacío."))
    if len(value.data) > limit_mb * 1024 * 1024:
        raise FieldError(_l("El archivo supera el tamaño máximo de %(n)s MB.", n=f"{limit_mb:g}"))
    return value  # stored by the service, which replaces it with the attachment's reference


_PERSON_ID = re.compile(r"\d{1,18}", re.ASCII)


def clean_person(value, field, people: dict[int, str]):
    """The id (or ids) of people of the institution (`people`: id → name), or FieldError."""
    multiple = bool(field_options(field).get("multiple"))
    values = value if isinstance(value, list | tuple) else [value]
    if not multiple and len(values) != 1:
        raise FieldError(_l("Elija una sola persona."))
    ids = []
    for item in values:
        if isinstance(item, str) and _PERSON_ID.fullmatch(item.strip()):
            item = int(item.strip())
        if isinstance(item, bool) or not isinstance(item, int) or item not in people:
            raise FieldError(_l("Elija una persona de la institución."))
        if item not in ids:
            ids.append(item)
    return ids if multiple else ids[0]


SIMPLE_CLEANERS = {
    "text": _text,
    "textarea": _textarea,
    "integer": _integer,
    "decimal": _decimal,
    "date": _date,
    "datetime": _datetime,
    "email": _email,
    "phone": _phone,
    "cedula": _cedula,
    "ruc": _ruc,
    "choice": _choice,
    "multichoice": _multichoice,
    "boolean": _boolean,
    "check": _check,
}

KINDS = {
    "text": _l("Texto corto"),
    "textarea": _l("Texto largo"),
    "integer": _l("Número entero"),
    "decimal": _l("Número decimal"),
    "date": _l("Fecha"),
    "datetime": _l("Fecha y hora"),
    "email": _l("Correo electrónico"),
    "phone": _l("Teléfono (Ecuador, con extensión)"),
    "cedula": _l("Cédula"),
    "ruc": _l("RUC"),
    "choice": _l("Opción única"),
    "multichoice": _l("Opción múltiple"),
    "boolean": _l("Sí / No"),
    "file": _l("Archivo adjunto"),
    "person": _l("Persona de la institución"),
    "check": _l("Casilla de verificación"),
}
