"""Field kinds: how each kind of form field is validated and rendered.

A ticket type's field is a dict (see `definitions.field_dict`). `clean_value` turns a raw
value (from a form, JSON or mail) into the JSON value stored on the ticket, or raises
`FieldError` with a message for the person who typed it. `build_form_class` makes the
WTForms class that the portal, the admin and the preview all render; the form only
carries what was typed, and the service validates it with `clean_values`.

Where each part lives:
    base        FieldError, UploadedFile, a field's options and choices
    kinds       one cleaner per kind (text, numbers, dates, choices, files, people...), KINDS
    ecuador     Ecuadorian phone numbers, cédulas and RUCs
    validation  a field's options checked; a whole form's values cleaned
    display     a stored value as people read it
    forms       the generated WTForms class and the raw values read back from it
"""

from ticketing.fields.base import FieldError, UploadedFile
from ticketing.fields.display import display_value
from ticketing.fields.ecuador import normalize_cedula, normalize_phone, normalize_ruc
from ticketing.fields.forms import (
    MultiCheckboxField,
    build_form_class,
    choice_list,
    make_form,
    raw_from_form,
)
from ticketing.fields.kinds import ECUADOR, KINDS, SIMPLE_CLEANERS
from ticketing.fields.validation import clean_value, clean_values, is_blank, option_errors

__all__ = [
    "ECUADOR",
    "KINDS",
    "SIMPLE_CLEANERS",
    "FieldError",
    "MultiCheckboxField",
    "UploadedFile",
    "build_form_class",
    "choice_list",
    "clean_value",
    "clean_values",
    "display_value",
    "is_blank",
    "make_form",
    "normalize_cedula",
    "normalize_phone",
    "normalize_ruc",
    "option_errors",
    "raw_from_form",
]
