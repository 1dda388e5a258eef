"""Ecuadorian phone numbers, cédulas and RUCs: checked and normalized."""

import re

import phonenumbers
from flask_babel import lazy_gettext as _l
from stdnum.ec import ci, ruc
from stdnum.exceptions import ValidationError as StdnumError

from ticketing.fields.base import FieldError

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
