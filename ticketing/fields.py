"""Field kinds: how each kind of form field is validated and rendered.

A ticket type's field is a dict (see `definitions.field_dict`). `clean_value` turns a raw
value (from a form, JSON or mail) into the JSON value stored on the ticket, or raises
`FieldError` with a message for the person who typed it. `build_form_class` makes the
WTForms class that the portal, the admin and the preview all render.
"""

import datetime as dt
import decimal
import re
from dataclasses import dataclass

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
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
    """WTForms choices from (value, label) pairs."""
    return [SelectChoice(str(value), str(label)) for value, label in pairs]


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


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value in ([], {})


def _text(value, field):
    if not isinstance(value, str | int | float):
        raise FieldError(_l("Escriba un texto."))
    value = str(value).strip()
    limit = int(field.get("options", {}).get("max_length", 255))
    if len(value) > limit:
        raise FieldError(_l("Máximo %(n)s caracteres.", n=limit))
    if "\x00" in value:
        raise FieldError(_l("El texto contiene caracteres no permitidos."))
    return value


def _textarea(value, field):
    if not isinstance(value, str):
        raise FieldError(_l("Escriba un texto."))
    value = value.strip()
    limit = int(field.get("options", {}).get("max_length", 20000))
    if len(value) > limit:
        raise FieldError(_l("Máximo %(n)s caracteres.", n=limit))
    if "\x00" in value:
        raise FieldError(_l("El texto contiene caracteres no permitidos."))
    return value


def _integer(value, field):
    if isinstance(value, bool):
        raise FieldError(_l("Escriba un número entero."))
    if isinstance(value, float) and not value.is_integer():
        raise FieldError(_l("Escriba un número entero."))
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        raise FieldError(_l("Escriba un número entero.")) from None
    _bounds(number, field)
    return number


def _decimal(value, field):
    if isinstance(value, bool):
        raise FieldError(_l("Escriba un número."))
    try:
        number = decimal.Decimal(str(value).strip().replace(",", "."))
    except (decimal.InvalidOperation, ValueError):
        raise FieldError(_l("Escriba un número.")) from None
    if not number.is_finite():
        raise FieldError(_l("Escriba un número."))
    _bounds(number, field)
    return str(number)


def _bounds(number, field):
    options = field.get("options", {})
    low, high = options.get("min"), options.get("max")
    if low is not None and number < decimal.Decimal(str(low)):
        raise FieldError(_l("El valor mínimo es %(n)s.", n=low))
    if high is not None and number > decimal.Decimal(str(high)):
        raise FieldError(_l("El valor máximo es %(n)s.", n=high))


def _date(value, field):
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise FieldError(_l("Escriba una fecha válida (AAAA-MM-DD).")) from None


def _datetime(value, field):
    if isinstance(value, dt.datetime):
        return value.replace(second=0, microsecond=0, tzinfo=None).isoformat(timespec="minutes")
    try:
        parsed = dt.datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise FieldError(_l("Escriba una fecha y hora válidas (AAAA-MM-DD HH:MM).")) from None
    return parsed.replace(second=0, microsecond=0, tzinfo=None).isoformat(timespec="minutes")


def _email(value, field):
    if not isinstance(value, str):
        raise FieldError(_l("Escriba un correo electrónico válido."))
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        raise FieldError(_l("Escriba un correo electrónico válido.")) from None


_EXTENSION = re.compile(r"\s*(?:ext\.?|extensi[oó]n|x)\s*(\d{1,6})\s*$", re.IGNORECASE)


def normalize_phone(value) -> str:
    """An Ecuadorian phone number in international form, with its extension if any."""
    if not isinstance(value, str | int):
        raise FieldError(_l("Escriba un número de teléfono ecuatoriano."))
    text = str(value).strip()
    extension = ""
    match = _EXTENSION.search(text)
    if match:
        extension, text = match.group(1), text[: match.start()]
    if len(text) > 32 or not re.fullmatch(r"[\d\s()+\-.]+", text or "x"):
        raise FieldError(_l("Escriba un número de teléfono ecuatoriano."))
    try:
        number = phonenumbers.parse(text, "EC")
    except phonenumbers.NumberParseException:
        raise FieldError(_l("Escriba un número de teléfono ecuatoriano.")) from None
    if number.country_code != 593 or not phonenumbers.is_valid_number(number):
        raise FieldError(
            _l("Escriba un número de teléfono ecuatoriano válido (p. ej. 02 123 4567).")
        )
    formatted = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return f"{formatted} ext. {extension}" if extension else formatted


def _phone(value, field):
    return normalize_phone(value)


def normalize_cedula(value) -> str:
    """A cédula with a valid check digit, as its ten digits."""
    try:
        return ci.validate(str(value))
    except StdnumError:
        raise FieldError(_l("La cédula no es válida: revise sus 10 dígitos.")) from None


def normalize_ruc(value) -> str:
    """A RUC with valid check digits, as its thirteen digits."""
    try:
        return ruc.validate(str(value))
    except StdnumError:
        raise FieldError(_l("El RUC no es válido: revise sus 13 dígitos.")) from None


def _cedula(value, field):
    return normalize_cedula(value)


def _ruc(value, field):
    return normalize_ruc(value)


def _choice_values(field) -> list[str]:
    return [str(choice[0]) for choice in field.get("choices", [])]


def _choice(value, field):
    value = str(value).strip() if isinstance(value, str | int) else None
    if value not in _choice_values(field):
        raise FieldError(_l("Elija una de las opciones."))
    return value


def _multichoice(value, field):
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise FieldError(_l("Elija una o más de las opciones."))
    allowed = _choice_values(field)
    chosen = []
    for item in value:
        item = str(item).strip()
        if item not in allowed:
            raise FieldError(_l("Elija solo entre las opciones."))
        if item not in chosen:
            chosen.append(item)
    return chosen


_TRUE = {"1", "true", "y", "yes", "on", "si", "sí"}
_FALSE = {"0", "false", "n", "no", "off", ""}


def _boolean(value, field):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise FieldError(_l("Responda sí o no."))


def _check(value, field):
    checked = _boolean(value, field)
    if field.get("required") and not checked:
        raise FieldError(_l("Debe marcar esta casilla."))
    return checked


def _file(value, field, max_mb):
    if not isinstance(value, UploadedFile):
        raise FieldError(_l("Adjunte un archivo."))
    options = field.get("options", {})
    limit_mb = min(float(options.get("max_mb", max_mb)), float(max_mb))
    if len(value.data) > limit_mb * 1024 * 1024:
        raise FieldError(_l("El archivo supera el tamaño máximo de %(n)s MB.", n=f"{limit_mb:g}"))
    extensions = [e.lower().lstrip(".") for e in options.get("extensions", [])]
    name = value.filename or ""
    if "/" in name or "\\" in name or not name.strip():
        raise FieldError(_l("El nombre del archivo no es válido."))
    if extensions and name.rsplit(".", 1)[-1].lower() not in extensions:
        raise FieldError(
            _l("Tipo de archivo no permitido; se aceptan: %(ext)s.", ext=", ".join(extensions))
        )
    if not value.data:
        raise FieldError(_l("El archivo está vacío."))
    return value  # stored by the service, which replaces it with the attachment's reference


def _person(value, field, people: dict[int, str]):
    multiple = field.get("options", {}).get("multiple", False)
    values = value if isinstance(value, list | tuple) else [value]
    if not multiple and len(values) != 1:
        raise FieldError(_l("Elija una persona."))
    ids = []
    for item in values:
        try:
            person_id = int(item)
        except (TypeError, ValueError):
            raise FieldError(_l("Elija una persona de la institución.")) from None
        if person_id not in people:
            raise FieldError(_l("Elija una persona de la institución."))
        if person_id not in ids:
            ids.append(person_id)
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


def is_blank(field, value) -> bool:
    """Whether `value` counts as not given for `field`."""
    if field["kind"] in ("boolean",):
        return value is None or value == ""
    if field["kind"] == "check":
        return value in (None, "", False)
    return _blank(value)


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
    """Validate every field of a definition: (values, errors by field name)."""
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
                errors[name] = str(_l("Este campo es obligatorio."))
            else:
                values[name] = [] if field["kind"] in ("multichoice",) else None
            continue
        try:
            values[name] = clean_value(field, value, people=people, max_mb=max_mb)
        except FieldError as exc:
            errors[name] = exc.message
    return values, errors


def display_value(field: dict, value, people=None) -> str:
    """A value as people read it on a ticket page or in a mail."""
    if value is None or value == "" or value == []:
        return "—"
    kind = field["kind"]
    if kind in ("choice", "multichoice"):
        labels = {str(c[0]): c[1] for c in field.get("choices", [])}
        items = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(str(v), str(v)) for v in items)
    if kind in ("boolean", "check"):
        return str(_l("Sí")) if value else str(_l("No"))
    if kind == "file":
        return value.get("filename", "") if isinstance(value, dict) else str(value)
    if kind == "person":
        items = value if isinstance(value, list) else [value]
        people = people or {}
        return ", ".join(people.get(int(v), f"#{v}") for v in items)
    return str(value)


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def _wtf_field(field: dict, label: str):
    kind = field["kind"]
    kwargs = {
        "label": label,
        "description": field.get("help_text", ""),
        "validators": [Optional()],  # the service validates; the form only parses
        "render_kw": {"aria-required": "true"} if field.get("required") else {},
    }
    if field.get("required"):
        kwargs["render_kw"]["required"] = True
    default = field.get("default") or None
    if kind == "textarea":
        return TextAreaField(default=default, **kwargs)
    # numbers and dates are parsed by the service, so their messages are ours and Spanish
    input_types = {
        "integer": ("number", "1"),
        "decimal": ("number", "any"),
        "date": ("date", None),
        "datetime": ("datetime-local", None),
    }
    if kind in input_types:
        input_type, step = input_types[kind]
        kwargs["render_kw"]["type"] = input_type
        if step:
            kwargs["render_kw"]["step"] = step
        return StringField(default=default, **kwargs)
    if kind == "email":
        return EmailField(default=default, **kwargs)
    if kind == "phone":
        return TelField(default=default, **kwargs)
    if kind == "choice":
        choices = choice_list([("", "—")] + [(c[0], c[1]) for c in field.get("choices", [])])
        return SelectField(choices=choices, default=default, validate_choice=False, **kwargs)
    if kind == "multichoice":
        choices = choice_list((c[0], c[1]) for c in field.get("choices", []))
        return MultiCheckboxField(choices=choices, validate_choice=False, **kwargs)
    if kind == "boolean":
        choices = choice_list([("", "—"), ("true", _l("Sí")), ("false", _l("No"))])
        return SelectField(choices=choices, default=default, validate_choice=False, **kwargs)
    if kind == "check":
        kwargs["render_kw"].pop("required", None)
        return BooleanField(**kwargs)
    if kind == "file":
        return FileField(**kwargs)
    if kind == "person":
        if field.get("options", {}).get("multiple"):
            return SelectMultipleField(choices=[], coerce=str, validate_choice=False, **kwargs)
        return SelectField(choices=[], validate_choice=False, **kwargs)
    if kind in ("cedula", "ruc"):
        kwargs["render_kw"]["inputmode"] = "numeric"
    return StringField(default=default, **kwargs)


_FORM_CACHE: dict[tuple, type] = {}


def build_form_class(cache_key, fields: list[dict], locale="es", with_title=True):
    """The WTForms class for a type version's fields; cached per (version, locale)."""
    key = (cache_key, locale, with_title)
    cached = _FORM_CACHE.get(key)
    if cached is not None:
        return cached

    class TicketForm(FlaskForm):
        pass

    if with_title:
        TicketForm.title = StringField(
            label=_l("Título"), render_kw={"required": True, "maxlength": 255}
        )
    for field in sorted(fields, key=lambda f: f.get("order", 0)):
        label = (field.get("label_en") if locale == "en" else None) or field["label"]
        setattr(TicketForm, f"f_{field['name']}", _wtf_field(field, label))
    TicketForm.field_defs = fields
    if cache_key is not None:
        _FORM_CACHE[key] = TicketForm
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
            multiple = field.get("options", {}).get("multiple")
            wtf.choices = choice_list(pairs if multiple else [("", "—")] + pairs)
    return form


def raw_from_form(form) -> dict:
    """The raw values of a generated form, keyed by field name, for the service layer."""
    raw = {}
    for field in form.field_defs:
        wtf = form[f"f_{field['name']}"]
        if field["kind"] == "file":
            storage = wtf.data
            if storage and getattr(storage, "filename", ""):
                raw[field["name"]] = UploadedFile(
                    storage.filename, storage.mimetype or "application/octet-stream", storage.read()
                )
            else:
                raw[field["name"]] = None
            continue
        # the raw text typed, so the service sees exactly what the person entered
        if field["kind"] in ("multichoice",) or (
            field["kind"] == "person" and field.get("options", {}).get("multiple")
        ):
            raw[field["name"]] = list(wtf.data or [])
        elif field["kind"] == "check":
            raw[field["name"]] = bool(wtf.data)
        elif wtf.raw_data:
            raw[field["name"]] = wtf.raw_data[0]
        else:
            raw[field["name"]] = None
    return raw
