"""The WTForms class generated from a type's fields, and the raw values read back from it.

The form only carries what was typed; the service validates it with `clean_values`."""

import hashlib
import json
import threading
from collections import OrderedDict

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
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

from ticketing.fields.base import (
    TRUE_WORDS,
    UploadedFile,
    allowed_extensions,
    choice_pairs,
    field_options,
    is_multiple,
    max_length,
    numeric_option,
)


def choice_list(pairs) -> list[SelectChoice]:
    """WTForms choices from (value, label) pairs; a lazy label is translated when rendered."""
    return [
        SelectChoice(str(value), label if isinstance(label, LazyString) else str(label))
        for value, label in pairs
    ]


class MultiCheckboxField(SelectMultipleField):
    """A multiple choice as a list of checkboxes."""

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
    options = field_options(field)
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
        render_kw["maxlength"] = max_length(field)
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
            if kind in ("integer", "decimal") and numeric_option(field, bound) is not None:
                render_kw[bound] = str(numeric_option(field, bound))
        return StringField(default=default, **kwargs)
    if kind == "email":
        return EmailField(default=default, **kwargs)
    if kind == "phone":
        render_kw["autocomplete"] = "tel"
        return TelField(default=default, **kwargs)
    if kind == "choice":
        choices = choice_list([("", "—")] + choice_pairs(field, english))
        return SelectField(choices=choices, default=default, validate_choice=False, **kwargs)
    if kind == "multichoice":
        choices = choice_list(choice_pairs(field, english))
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
        ticked = str(default or "").strip().lower() in TRUE_WORDS
        return BooleanField(default=ticked, **kwargs)
    if kind == "file":
        extensions = allowed_extensions(field)
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
            wtf.choices = choice_list(pairs if is_multiple(field) else [("", "—")] + pairs)
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
        elif is_multiple(field):
            raw[field["name"]] = list(wtf.raw_data)
        else:
            raw[field["name"]] = wtf.raw_data[0] if wtf.raw_data else None
    return raw
