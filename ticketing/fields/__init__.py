"""Field kinds: how each kind of form field is validated and rendered.

A ticket type's field is a dict (see `definitions.field_dict`). `clean_value` turns a raw
value (from a form, JSON or mail) into the JSON value stored on the ticket, or raises
`FieldError` with a message for the person who typed it. `build_form_class` makes the
WTForms class that the portal, the admin and the preview all render; the form only
carries what was typed, and the service validates it with `clean_values`.
"""

import datetime as dt
import decimal
import hashlib
import json
import re
import threading
import unicodedata
from collections import OrderedDict
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from stdnum.ec import ci, ruc
from stdnum.exceptions import ValidationError as StdnumError
from wtforms import (
    BooleanField,
    EmailField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
    widgets,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional


def choice_list(pairs) -> list[SelectChoice]:
    """WTForms choices from (value, label) pairs; a lazy label is translated when rendered."""
    return [
        SelectChoice(str(value), label if isinstance(label, LazyString) else str(label))
        for value, label in pairs
    ]


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


def _options(field) -> dict:
    options = field.get("options")
    return options if isinstance(options, dict) else {}


def _setting(field, key) -> decimal.Decimal | None:
    """A numeric option of the field; None when unset or not a number (see option_errors)."""
    value = _options(field).get(key)
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = decimal.Decimal(str(value).strip())
    except (decimal.InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _max_length(field) -> int:
    limit = _setting(field, "max_length")
    if limit is not None and limit >= 1:
        return int(limit)
    return 20000 if field["kind"] == "textarea" else 255


def _blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | tuple | dict | set) and not value


# ---------------------------------------------------------------- text


def _forbidden_char(text: str, allowed: str = "") -> bool:
    """Whether `text` has a control character (NUL included) or a lone surrogate.

    Lone surrogates cannot be encoded to UTF-8, so the database would refuse them later.
    """
    return any(unicodedata.category(char) in ("Cc", "Cs") and char not in allowed for char in text)


def _string(value, field, allowed_controls):
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FieldError(_l("Escriba un texto."))
    text = str(value).replace("\r\n", "\n").replace("\r", "\n").strip()
    limit = _max_length(field)
    if len(text) > limit:
        raise FieldError(_l("Máximo %(n)s caracteres.", n=limit))
    if _forbidden_char(text, allowed_controls):
        raise FieldError(_l("El texto contiene caracteres no permitidos."))
    return text


def _text(value, field):
    return _string(value, field, "")


def _textarea(value, field):
    return _string(value, field, "\n\t")


# ---------------------------------------------------------------- numbers

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
    low, high = _setting(field, "min"), _setting(field, "max")
    if low is not None and number < low:
        raise FieldError(_l("El valor mínimo es %(n)s.", n=_options(field)["min"]))
    if high is not None and number > high:
        raise FieldError(_l("El valor máximo es %(n)s.", n=_options(field)["max"]))


# ---------------------------------------------------------------- dates

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


# ---------------------------------------------------------------- email and phone


def _email(value, field):
    if not isinstance(value, str) or _forbidden_char(value):
        raise FieldError(_l("Escriba un correo electrónico válido."))
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise FieldError(_l("Escriba un correo electrónico válido.")) from None


_EXTENSION = re.compile(r"[\s,;]*(?:ext\.?|extensi[oó]n|x)\s*:?\s*([0-9]{1,6})\s*$", re.IGNORECASE)
_PHONE_TEXT = re.compile(r"[\d\s()+\-.]{1,32}", re.ASCII)
# Area code 2-7 and a seven-digit local number. phonenumbers' fixed-line ranges also require
# the local number to start with 2-7; we accept any seven digits after a real area code, so
# a landline is refused for its shape, never for an allocation detail.
_LANDLINE = re.compile(r"[2-7]\d{7}", re.ASCII)


def normalize_phone(value) -> str:
    """An Ecuadorian phone number in international form, with its extension if any."""
    not_a_phone = _l("Escriba un número de teléfono ecuatoriano, p. ej. 02 234 5678 o 0991234567.")
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise FieldError(not_a_phone)
    text = str(value).strip()
    extension = ""
    match = _EXTENSION.search(text)
    if match:
        extension, text = match.group(1), text[: match.start()].strip()
    if not _PHONE_TEXT.fullmatch(text) or sum(c.isdigit() for c in text) < 7:
        raise FieldError(not_a_phone)
    try:
        number = phonenumbers.parse(text, "EC")
    except phonenumbers.NumberParseException:
        raise FieldError(not_a_phone) from None
    if number.country_code != 593:
        raise FieldError(_l("Solo se aceptan números de teléfono de Ecuador."))
    national = str(number.national_number)
    if not (phonenumbers.is_valid_number(number) or _LANDLINE.fullmatch(national)):
        raise FieldError(not_a_phone)
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return f"{formatted} ext. {extension}" if extension else formatted


def _phone(value, field):
    return normalize_phone(value)


# ---------------------------------------------------------------- Ecuadorian identifiers


def _identifier(value) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value)


def normalize_cedula(value) -> str:
    """A cédula with a valid check digit, as its ten digits."""
    try:
        return ci.validate(_identifier(value))
    except StdnumError:
        raise FieldError(_l("La cédula no es válida: revise sus 10 dígitos.")) from None


def normalize_ruc(value) -> str:
    """A RUC with valid check digits, as its thirteen digits."""
    try:
        return ruc.validate(_identifier(value))
    except StdnumError:
        raise FieldError(_l("El RUC no es válido: revise sus 13 dígitos.")) from None


def _cedula(value, field):
    return normalize_cedula(value)


def _ruc(value, field):
    return normalize_ruc(value)


# ---------------------------------------------------------------- choices and yes/no


def _choice_pairs(field, english=False) -> list[tuple[str, str]]:
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


def _choice_values(field) -> list[str]:
    return [value for value, _label in _choice_pairs(field)]


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


_TRUE = {"1", "true", "y", "yes", "on", "si", "sí", "verdadero"}
_FALSE = {"0", "false", "n", "no", "off", "falso"}


def _boolean(value, field):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower() if isinstance(value, str | int) else ""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise FieldError(_l("Responda sí o no."))


def _check(value, field):
    checked = False if _blank(value) else _boolean(value, field)
    if field.get("required") and not checked:
        raise FieldError(_l("Debe marcar esta casilla."))
    return checked


# ---------------------------------------------------------------- files and people


def _extensions(field) -> list[str]:
    allowed = _options(field).get("extensions") or []
    if isinstance(allowed, str):
        allowed = allowed.split(",")
    elif not isinstance(allowed, list | tuple):
        return []  # reported by option_errors
    return [str(e).strip().lower().lstrip(".") for e in allowed if str(e).strip()]


def _file(value, field, max_mb):
    if not isinstance(value, UploadedFile):
        raise FieldError(_l("Adjunte un archivo."))
    own = _setting(field, "max_mb")
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
    extensions = _extensions(field)
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


def _person(value, field, people: dict[int, str]):
    multiple = bool(_options(field).get("multiple"))
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


# ---------------------------------------------------------------- the kinds

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


def option_errors(field: dict) -> list[str]:
    """Mistakes in a field's kind-specific options, for the designer and the importer."""
    options, errors = field.get("options"), []
    if options is None:
        return errors
    if not isinstance(options, dict):
        return ["las opciones deben ser un mapa"]

    def given(key):
        return options.get(key) not in (None, "")

    limit = _setting(field, "max_length")
    if given("max_length") and not (
        limit is not None and limit >= 1 and limit == limit.to_integral_value()
    ):
        errors.append("max_length debe ser un entero positivo")
    for bound in ("min", "max"):
        if given(bound) and _setting(field, bound) is None:
            errors.append(f"{bound} debe ser un número")
    low, high = _setting(field, "min"), _setting(field, "max")
    if low is not None and high is not None and low > high:
        errors.append("min no puede ser mayor que max")
    if given("max_mb") and not (_setting(field, "max_mb") or 0) > 0:
        errors.append("max_mb debe ser un número positivo")
    extensions = options.get("extensions")
    if extensions is not None and not (
        isinstance(extensions, str)
        or (isinstance(extensions, list) and all(isinstance(e, str) for e in extensions))
    ):
        errors.append("extensions debe ser una lista de extensiones (pdf, png...)")
    return errors


def _is_multiple(field) -> bool:
    return field["kind"] == "multichoice" or (
        field["kind"] == "person" and bool(_options(field).get("multiple"))
    )


def is_blank(field, value) -> bool:
    """Whether `value` counts as not given for `field` (an unticked check is blank)."""
    if field["kind"] == "check" and value is False:
        return True
    return _blank(value)


def _empty_value(field):
    """What an optional field left blank stores."""
    if field["kind"] == "check":
        return False
    return [] if _is_multiple(field) else None


def clean_value(field: dict, value, *, people=None, max_mb=10):
    """The stored form of `value` for `field`, or FieldError."""
    kind = field["kind"]
    if kind == "file":
        return _file(value, field, max_mb)
    if kind == "person":
        return _person(value, field, people or {})
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


def display_value(field: dict, value, people=None) -> str:
    """A value as people read it on a ticket page or in a mail."""
    kind = field["kind"]
    if kind in ("boolean", "check") and isinstance(value, bool):
        return str(_l("Sí")) if value else str(_l("No"))
    if value is None or value == "" or value == []:
        return "—"
    if kind in ("choice", "multichoice"):
        labels = dict(_choice_pairs(field, english=str(get_locale()) == "en"))
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


# ---------------------------------------------------------------- forms


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def __iter__(self):
        # a required group needs one box ticked, not every box: options drop the marks
        for option in super().__iter__():
            option.render_kw = {
                key: value
                for key, value in (option.render_kw or {}).items()
                if key not in ("required", "aria-required")
            }
            yield option


def _yes_no_choice(value) -> str:
    """The select's value for a stored yes/no answer; never raises, whatever was posted."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


def _wtf_field(field: dict, label: str, english=False):
    kind = field["kind"]
    options = _options(field)
    render_kw = {}
    if field.get("required") and kind in ("check", "multichoice"):
        # no `required`: the browser must not refuse an unticked box, the service says why
        render_kw["aria-required"] = "true"
    elif field.get("required"):
        render_kw.update({"required": True, "aria-required": "true"})
    kwargs = {
        "label": label,
        "description": (field.get("help_text_en") if english else "") or field.get("help_text", ""),
        "validators": [Optional()],  # the service validates; the form only carries raw input
        "render_kw": render_kw,
    }
    default = field.get("default") or None
    if kind in ("text", "textarea"):
        render_kw["maxlength"] = _max_length(field)
    if kind == "textarea":
        return TextAreaField(default=default, **kwargs)
    # numbers and dates are plain text inputs parsed by the service, so messages are Spanish
    input_types = {
        "integer": ("number", "1"),
        "decimal": ("number", "any"),
        "date": ("date", None),
        "datetime": ("datetime-local", None),
    }
    if kind in input_types:
        input_type, step = input_types[kind]
        render_kw["type"] = input_type
        if step:
            render_kw["step"] = step
        for bound in ("min", "max"):
            if kind in ("integer", "decimal") and _setting(field, bound) is not None:
                render_kw[bound] = str(_setting(field, bound))
        return StringField(default=default, **kwargs)
    if kind == "email":
        return EmailField(default=default, **kwargs)
    if kind == "phone":
        render_kw["autocomplete"] = "tel"
        return TelField(default=default, **kwargs)
    if kind == "choice":
        choices = choice_list([("", "—")] + _choice_pairs(field, english))
        return SelectField(choices=choices, default=default, validate_choice=False, **kwargs)
    if kind == "multichoice":
        choices = choice_list(_choice_pairs(field, english))
        if isinstance(default, str):
            default = [value.strip() for value in default.split(",") if value.strip()]
        return MultiCheckboxField(choices=choices, default=default, validate_choice=False, **kwargs)
    if kind == "boolean":
        choices = choice_list([("", "—"), ("true", _l("Sí")), ("false", _l("No"))])
        return SelectField(
            choices=choices,
            default=default,
            coerce=_yes_no_choice,
            validate_choice=False,
            **kwargs,
        )
    if kind == "check":
        ticked = str(default or "").strip().lower() in _TRUE
        return BooleanField(default=ticked, **kwargs)
    if kind == "file":
        extensions = _extensions(field)
        if extensions:
            render_kw["accept"] = ",".join(f".{e}" for e in extensions)
        return FileField(**kwargs)
    if kind == "person":
        if options.get("multiple"):
            return SelectMultipleField(choices=[], validate_choice=False, **kwargs)
        return SelectField(choices=[], validate_choice=False, **kwargs)
    if kind in ("cedula", "ruc"):
        render_kw["inputmode"] = "numeric"
    return StringField(default=default, **kwargs)


_FORM_CACHE: OrderedDict[tuple, type] = OrderedDict()
_FORM_CACHE_SIZE = 256
_FORM_CACHE_LOCK = threading.Lock()


def _fingerprint(fields: list[dict]) -> str:
    """A digest of the field definitions, so a reused key never serves an old form."""
    text = json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def build_form_class(cache_key, fields: list[dict], locale="es", with_title=True):
    """The WTForms class for a type version's fields; cached per (version, locale).

    The key also carries a digest of `fields`: a version that no ticket uses yet is
    edited in place (see `definitions.publish`), and ids restart in a new database.
    """
    key = (cache_key, locale, with_title, _fingerprint(fields))
    if cache_key is not None:
        with _FORM_CACHE_LOCK:
            cached = _FORM_CACHE.get(key)
            if cached is not None:
                _FORM_CACHE.move_to_end(key)
                return cached

    class TicketForm(FlaskForm):
        pass

    if with_title:
        TicketForm.title = StringField(
            label=_l("Título"),
            validators=[Optional()],
            render_kw={"required": True, "aria-required": "true", "maxlength": 255},
        )
    for field in sorted(fields, key=lambda f: f.get("order", 0)):
        english = str(locale or "").lower().startswith("en")
        label = (field.get("label_en") if english else None) or field["label"]
        setattr(TicketForm, f"f_{field['name']}", _wtf_field(field, label, english))
    TicketForm.field_defs = fields
    if cache_key is not None:
        with _FORM_CACHE_LOCK:
            _FORM_CACHE[key] = TicketForm
            while len(_FORM_CACHE) > _FORM_CACHE_SIZE:
                _FORM_CACHE.popitem(last=False)
    return TicketForm


def make_form(form_class, people=None, formdata=None, data=None, **kwargs):
    """Instantiate a generated form, filling person choices for this institution."""
    if formdata is not None:
        kwargs["formdata"] = formdata
    form = form_class(data=data, **kwargs)
    pairs = list((people or {}).items())
    for field in form_class.field_defs:
        if field["kind"] == "person":
            wtf = form[f"f_{field['name']}"]
            wtf.choices = choice_list(pairs if _is_multiple(field) else [("", "—")] + pairs)
    return form


def _uploaded(storage) -> UploadedFile | None:
    if not storage or not getattr(storage, "filename", ""):
        return None
    try:
        storage.stream.seek(0)  # a second read of the same request still gets the bytes
    except (AttributeError, OSError):
        pass
    return UploadedFile(
        storage.filename, storage.mimetype or "application/octet-stream", storage.read()
    )


def raw_from_form(form) -> dict:
    """The raw values of a generated form, keyed by field name, for the service layer.

    Each is what the person typed or picked (text as typed, every ticked option, the
    uploaded file), so the service validates and normalizes in one place.
    """
    raw = {}
    for field in form.field_defs:
        wtf = form[f"f_{field['name']}"]
        kind = field["kind"]
        if kind == "file":
            raw[field["name"]] = _uploaded(wtf.data)
        elif kind == "check":
            raw[field["name"]] = bool(wtf.data)
        elif wtf.raw_data is None:  # not submitted: the form was filled from `data`
            raw[field["name"]] = wtf.data
        elif _is_multiple(field):
            raw[field["name"]] = list(wtf.raw_data)
        else:
            raw[field["name"]] = wtf.raw_data[0] if wtf.raw_data else None
    return raw
