"""Every field kind: what it accepts, how it stores it, and the Spanish message it refuses with."""

import datetime as dt

import pytest

from tests.fields.helpers import PDF, field
from ticketing.fields import (
    KINDS,
    FieldError,
    UploadedFile,
    clean_value,
    display_value,
    normalize_cedula,
    normalize_phone,
    normalize_ruc,
    option_errors,
)

PEOPLE = {7: "Ana Andrade", 9: "Bruno Benítez", 12: "Carla Cedeño"}

# (field, raw value, stored value)
VALID = [
    # short text: trimmed, numbers from JSON become text
    (field("text"), "  Oficio 123  ", "Oficio 123"),
    (field("text"), "Ñandú, pingüino y acción", "Ñandú, pingüino y acción"),
    (field("text"), 42, "42"),
    (field("text", options={"max_length": 5}), "cinco", "cinco"),
    (field("text"), "x" * 255, "x" * 255),
    # long text: lines kept, browser CRLF stored as LF
    (field("textarea"), "Línea 1\r\nLínea 2\n\tsangría", "Línea 1\nLínea 2\n\tsangría"),
    (field("textarea"), "y" * 20000, "y" * 20000),
    # integers
    (field("integer"), "42", 42),
    (field("integer"), " -7 ", -7),
    (field("integer"), "+5", 5),
    (field("integer"), "007", 7),
    (field("integer"), "0" * 5000 + "12", 12),
    (field("integer"), "-0", 0),
    (field("decimal"), "0" * 5000 + "1.5", "1.5"),
    (field("integer"), 3, 3),
    (field("integer"), 3.0, 3),
    (field("integer"), "999999999999999", 999999999999999),
    (field("integer", options={"min": 1, "max": 10}), "1", 1),
    (field("integer", options={"min": 1, "max": 10}), "10", 10),
    # decimals: stored as text, comma or point, trailing zeros kept, no exponent
    (field("decimal"), "12.50", "12.50"),
    (field("decimal"), "12,50", "12.50"),
    (field("decimal"), ".5", "0.5"),
    (field("decimal"), "-0", "0"),
    (field("decimal"), "0.0000001", "0.0000001"),
    (field("decimal"), 1.25, "1.25"),
    (field("decimal"), 3, "3"),
    (field("decimal", options={"min": "0.5", "max": 2}), "0.5", "0.5"),
    # dates and times, ISO
    (field("date"), "2024-02-29", "2024-02-29"),
    (field("date"), " 2024-12-31 ", "2024-12-31"),
    (field("date"), dt.date(2024, 5, 24), "2024-05-24"),
    (field("datetime"), "2024-05-24T09:30", "2024-05-24T09:30"),
    (field("datetime"), "2024-05-24 09:30:59", "2024-05-24T09:30"),
    (field("datetime"), "2024-05-24T14:30Z", "2024-05-24T09:30"),  # UTC to Ecuador
    (field("datetime"), "2024-05-24T09:30-05:00", "2024-05-24T09:30"),
    (field("datetime"), dt.datetime(2024, 5, 24, 9, 30, 12), "2024-05-24T09:30"),
    # email: domain lowercased
    (field("email"), " aiq@Institucion.GOB.EC ", "aiq@institucion.gob.ec"),
    # Ecuadorian phones, in international form
    (field("phone"), "02 123 4567", "+593 2-123-4567"),
    (field("phone"), "(04) 2305678", "+593 4-230-5678"),
    (field("phone"), "07-212-3456", "+593 7-212-3456"),
    (field("phone"), "0991234567", "+593 99 123 4567"),
    (field("phone"), "+593 99 123 4567", "+593 99 123 4567"),
    (field("phone"), "593991234567", "+593 99 123 4567"),
    (field("phone"), "02 123 4567 ext. 123", "+593 2-123-4567 ext. 123"),
    (field("phone"), "02 123 4567 Ext 45", "+593 2-123-4567 ext. 45"),
    (field("phone"), "(02) 2505123 extensión 2010", "+593 2-250-5123 ext. 2010"),
    (field("phone"), "02 250 5123 x9", "+593 2-250-5123 ext. 9"),
    (field("phone"), "1800 123 456", "+593 1800 123 456"),
    # identifiers: separators dropped
    (field("cedula"), "1710034065", "1710034065"),
    (field("cedula"), " 171003406-5 ", "1710034065"),
    (field("cedula"), "0926687856", "0926687856"),
    (field("ruc"), "1760000230001", "1760000230001"),  # public entity
    (field("ruc"), "0960000140001", "0960000140001"),
    (field("ruc"), "1710034065001", "1710034065001"),  # natural person
    (field("ruc"), "1790011674001", "1790011674001"),  # company
    (field("ruc"), "17-60000230-001", "1760000230001"),
    # choices
    (field("choice"), "consulta", "consulta"),
    (field("choice"), " consulta ", "consulta"),
    (field("choice", choices=[[1, "Uno"], [2, "Dos"]]), 2, "2"),
    (field("multichoice"), ["otro", "incidente"], ["otro", "incidente"]),
    (field("multichoice"), ["otro", "otro", "incidente", "otro"], ["otro", "incidente"]),
    (field("multichoice"), "consulta", ["consulta"]),
    # yes/no
    (field("boolean"), "sí", True),
    (field("boolean"), "SI", True),
    (field("boolean"), "true", True),
    (field("boolean"), "1", True),
    (field("boolean"), True, True),
    (field("boolean"), "no", False),
    (field("boolean"), "False", False),
    (field("boolean"), 0, False),
    (field("boolean"), False, False),
    # checklist-style box
    (field("check"), True, True),
    (field("check"), "y", True),
    (field("check"), False, False),
    (field("check", required=True), "on", True),
    # people of the institution
    (field("person"), "9", 9),
    (field("person"), 9, 9),
    (field("person"), [12], 12),
    (field("person", options={"multiple": True}), ["9", "7", "9"], [9, 7]),
    (field("person", options={"multiple": True}), "12", [12]),
]

# (field, raw value, the message beside the field)
INVALID = [
    (field("text"), {"a": 1}, "Escriba un texto."),
    (field("text"), True, "Escriba un texto."),
    (field("text"), "abc\x00def", "El texto contiene caracteres no permitidos."),
    (field("text"), "dos\nlíneas", "El texto contiene caracteres no permitidos."),
    (field("text"), "roto \ud800", "El texto contiene caracteres no permitidos."),
    (field("text", options={"max_length": 5}), "seis!!", "Máximo 5 caracteres."),
    (field("text"), "x" * 256, "Máximo 255 caracteres."),
    (field("textarea"), "con\x00nulo", "El texto contiene caracteres no permitidos."),
    (field("textarea"), "campana\x07", "El texto contiene caracteres no permitidos."),
    (field("textarea", options={"max_length": 10}), "once letras", "Máximo 10 caracteres."),
    (field("textarea"), ["lista"], "Escriba un texto."),
    (field("integer"), "doce", "Escriba un número entero."),
    (field("integer"), "1.5", "Escriba un número entero."),
    (field("integer"), "1_000", "Escriba un número entero."),
    (field("integer"), "1 000", "Escriba un número entero."),
    (field("integer"), "١٢", "Escriba un número entero."),
    (field("integer"), 1.5, "Escriba un número entero."),
    (field("integer"), float("nan"), "Escriba un número entero."),
    (field("integer"), True, "Escriba un número entero."),
    (field("integer"), "1000000000000000", "El número es demasiado grande."),
    (field("integer"), 10**20, "El número es demasiado grande."),
    (field("integer", options={"min": 1, "max": 10}), "0", "El valor mínimo es 1."),
    (field("integer", options={"min": 1, "max": 10}), "11", "El valor máximo es 10."),
    (field("decimal"), "doce", "Escriba un número."),
    (field("decimal"), "1e5", "Escriba un número."),
    (field("decimal"), "NaN", "Escriba un número."),
    (field("decimal"), "Infinity", "Escriba un número."),
    (field("decimal"), float("inf"), "Escriba un número."),
    (field("decimal"), "1.234,56", "Escriba un número."),
    (field("decimal"), False, "Escriba un número."),
    (field("decimal"), "1" * 16, "El número es demasiado grande."),
    (field("decimal"), "0." + "1" * 16, "Escriba como máximo 15 decimales."),
    (field("decimal", options={"min": "0.5"}), "0.49", "El valor mínimo es 0.5."),
    (field("decimal", options={"max": 2}), "2.01", "El valor máximo es 2."),
    (field("date"), "2023-02-29", "Escriba una fecha válida (AAAA-MM-DD)."),
    (field("date"), "24/05/2024", "Escriba una fecha válida (AAAA-MM-DD)."),
    (field("date"), "20240524", "Escriba una fecha válida (AAAA-MM-DD)."),
    (field("date"), "2024-W21-5", "Escriba una fecha válida (AAAA-MM-DD)."),
    (field("date"), 20240524, "Escriba una fecha válida (AAAA-MM-DD)."),
    (field("datetime"), "2024-05-24", "Escriba una fecha y hora válidas (AAAA-MM-DD HH:MM)."),
    (field("datetime"), "2024-05-24 25:00", "Escriba una fecha y hora válidas (AAAA-MM-DD HH:MM)."),
    (field("datetime"), "mañana", "Escriba una fecha y hora válidas (AAAA-MM-DD HH:MM)."),
    (field("email"), "aiq@institucion", "Escriba un correo electrónico válido."),
    (field("email"), "sin arroba", "Escriba un correo electrónico válido."),
    (field("email"), "a\x00b@institucion.gob.ec", "Escriba un correo electrónico válido."),
    (field("email"), 5, "Escriba un correo electrónico válido."),
    (field("phone"), "+1 202 555 0123", "Solo se aceptan números de teléfono de Ecuador."),
    (field("phone"), "+34 912 345 678", "Solo se aceptan números de teléfono de Ecuador."),
    (field("phone"), "+57 601 2345678", "Solo se aceptan números de teléfono de Ecuador."),
    (
        field("phone"),
        "0212345678",
        "Escriba un número de teléfono ecuatoriano, p. ej. 02 234 5678 o 0991234567.",
    ),
    (
        field("phone"),
        "099 123",
        "Escriba un número de teléfono ecuatoriano, p. ej. 02 234 5678 o 0991234567.",
    ),
    (
        field("phone"),
        "llámeme",
        "Escriba un número de teléfono ecuatoriano, p. ej. 02 234 5678 o 0991234567.",
    ),
    (
        field("phone"),
        "02 123 4567 ext. 1234567",
        "Escriba un número de teléfono ecuatoriano, p. ej. 02 234 5678 o 0991234567.",
    ),
    (field("cedula"), "1710034066", "La cédula no es válida: revise sus 10 dígitos."),
    (field("cedula"), "171003406", "La cédula no es válida: revise sus 10 dígitos."),
    (field("cedula"), "2510034065", "La cédula no es válida: revise sus 10 dígitos."),
    (field("cedula"), "17100340AB", "La cédula no es válida: revise sus 10 dígitos."),
    (field("cedula"), None, "La cédula no es válida: revise sus 10 dígitos."),
    (field("ruc"), "1760000230000", "El RUC no es válido: revise sus 13 dígitos."),
    (field("ruc"), "1760000240001", "El RUC no es válido: revise sus 13 dígitos."),
    (field("ruc"), "1710034065", "El RUC no es válido: revise sus 13 dígitos."),
    (field("ruc"), "1780000230001", "El RUC no es válido: revise sus 13 dígitos."),
    (field("choice"), "inventada", "Elija una de las opciones."),
    (field("choice"), "Consulta", "Elija una de las opciones."),
    (field("choice"), ["consulta"], "Elija una de las opciones."),
    (field("multichoice"), ["consulta", "inventada"], "Elija solo entre las opciones."),
    (field("multichoice"), {"consulta": True}, "Elija solo entre las opciones."),
    (field("boolean"), "quizás", "Responda sí o no."),
    (field("boolean"), 2, "Responda sí o no."),
    (field("check"), "tal vez", "Responda sí o no."),
    (field("check", required=True), False, "Debe marcar esta casilla."),
    (field("check", required=True), "no", "Debe marcar esta casilla."),
    (field("person"), "8", "Elija una persona de la institución."),
    (field("person"), "Ana Andrade", "Elija una persona de la institución."),
    (field("person"), True, "Elija una persona de la institución."),
    (field("person"), 9.0, "Elija una persona de la institución."),
    (field("person"), ["7", "9"], "Elija una sola persona."),
    (
        field("person", options={"multiple": True}),
        ["7", "8"],
        "Elija una persona de la institución.",
    ),
    (field("inventado"), "x", "Tipo de campo desconocido."),
]


@pytest.mark.parametrize(("definition", "raw", "stored"), VALID)
def test_valid_value_is_stored_normalized(definition, raw, stored):
    assert clean_value(definition, raw, people=PEOPLE) == stored


@pytest.mark.parametrize(("definition", "raw", "message"), INVALID)
def test_invalid_value_is_refused_with_its_message(definition, raw, message):
    with pytest.raises(FieldError) as refused:
        clean_value(definition, raw, people=PEOPLE)
    assert refused.value.message == message


def test_every_kind_has_valid_and_invalid_cases():
    valid = {f["kind"] for f, _, _ in VALID} | {"file"}  # files have their own tests below
    invalid = {f["kind"] for f, _, _ in INVALID} | {"file"}
    assert set(KINDS) <= valid
    assert set(KINDS) <= invalid


# ---------------------------------------------------------------- files


def test_file_within_limits_is_kept_for_the_service_to_store():
    definition = field("file", options={"max_mb": 1, "extensions": ["pdf", "PNG"]})
    assert clean_value(definition, PDF) is PDF
    picture = UploadedFile("Captura.PNG", "image/png", b"\x89PNG...")
    assert clean_value(definition, picture) is picture


def test_file_exactly_at_the_limit_is_accepted_and_one_byte_more_is_refused():
    definition = field("file", options={"max_mb": 1})
    at_limit = UploadedFile("a.pdf", "application/pdf", b"x" * 1024 * 1024)
    assert clean_value(definition, at_limit) is at_limit
    with pytest.raises(FieldError) as refused:
        clean_value(definition, UploadedFile("a.pdf", "application/pdf", b"x" * (1024 * 1024 + 1)))
    assert refused.value.message == "El archivo supera el tamaño máximo de 1 MB."


def test_file_limit_never_exceeds_the_site_limit():
    definition = field("file", options={"max_mb": 50})
    big = UploadedFile("a.pdf", "application/pdf", b"x" * (2 * 1024 * 1024 + 1))
    with pytest.raises(FieldError) as refused:
        clean_value(definition, big, max_mb=2)
    assert refused.value.message == "El archivo supera el tamaño máximo de 2 MB."


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (
            UploadedFile("programa.exe", "application/octet-stream", b"MZ"),
            "Tipo de archivo no permitido; se aceptan: pdf, png.",
        ),
        (
            UploadedFile("sin-extension", "application/pdf", b"%PDF"),
            "Tipo de archivo no permitido; se aceptan: pdf, png.",
        ),
        (
            UploadedFile("oficio.pdf.exe", "application/pdf", b"%PDF"),
            "Tipo de archivo no permitido; se aceptan: pdf, png.",
        ),
        (UploadedFile("vacio.pdf", "application/pdf", b""), "El archivo está vacío."),
        (
            UploadedFile("../../etc/oficio.pdf", "application/pdf", b"%PDF"),
            "El nombre del archivo no es válido.",
        ),
        (
            UploadedFile("C:\\Users\\ana\\oficio.pdf", "application/pdf", b"%PDF"),
            "El nombre del archivo no es válido.",
        ),
        (UploadedFile("..", "application/pdf", b"%PDF"), "El nombre del archivo no es válido."),
        (UploadedFile("   ", "application/pdf", b"%PDF"), "El nombre del archivo no es válido."),
        (
            UploadedFile("ofi\x00cio.pdf", "application/pdf", b"%PDF"),
            "El nombre del archivo no es válido.",
        ),
        (
            UploadedFile("a" * 252 + ".pdf", "application/pdf", b"%PDF"),
            "El nombre del archivo no es válido.",
        ),
        ("oficio.pdf", "Adjunte un archivo."),
        (b"%PDF", "Adjunte un archivo."),
    ],
)
def test_file_refused_with_its_message(upload, message):
    definition = field("file", options={"max_mb": 5, "extensions": ["pdf", ".PNG"]})
    with pytest.raises(FieldError) as refused:
        clean_value(definition, upload)
    assert refused.value.message == message


def test_file_without_extension_list_accepts_any_type():
    upload = UploadedFile("notas", "text/plain", b"hola")
    assert clean_value(field("file"), upload) is upload


# ---------------------------------------------------------------- the public helpers


def test_normalizers_used_outside_tickets():
    assert normalize_cedula("171003406-5") == "1710034065"
    assert normalize_ruc("1760000230001") == "1760000230001"
    assert normalize_phone("0991234567 ext 12") == "+593 99 123 4567 ext. 12"
    with pytest.raises(FieldError):
        normalize_phone("+44 20 7946 0958")


@pytest.mark.parametrize(
    ("definition", "stored", "shown"),
    [
        (field("choice"), "consulta", "Consulta"),
        (field("multichoice"), ["otro", "incidente"], "Otro, Incidente"),
        (field("boolean"), True, "Sí"),
        (field("boolean"), False, "No"),
        (field("boolean"), None, "—"),
        (field("check"), False, "No"),
        (field("text"), "", "—"),
        (field("multichoice"), [], "—"),
        (field("file"), {"attachment_id": 3, "filename": "oficio.pdf", "size": 10}, "oficio.pdf"),
        (field("person"), 9, "Bruno Benítez"),
        (field("person", options={"multiple": True}), [12, 7], "Carla Cedeño, Ana Andrade"),
        (field("person"), 99, "#99"),
        (field("datetime"), "2024-05-24T09:30", "2024-05-24 09:30"),
        (field("decimal"), "12.50", "12.50"),
        (field("integer"), 0, "0"),
    ],
)
def test_display_value(definition, stored, shown):
    assert display_value(definition, stored, PEOPLE) == shown


# ---------------------------------------------------------------- options of a definition


@pytest.mark.parametrize(
    ("definition", "mistakes"),
    [
        (field("text", options={"max_length": 80}), []),
        (field("integer", options={"min": 0, "max": "10"}), []),
        (field("file", options={"max_mb": 2.5, "extensions": ["pdf", "png"]}), []),
        (field("person", options={"multiple": True}), []),
        (field("text", options={"max_length": 0}), ["max_length debe ser un entero positivo"]),
        (
            field("text", options={"max_length": "mucho"}),
            ["max_length debe ser un entero positivo"],
        ),
        (field("text", options={"max_length": 2.5}), ["max_length debe ser un entero positivo"]),
        (field("decimal", options={"min": "uno"}), ["min debe ser un número"]),
        (field("integer", options={"min": 5, "max": 1}), ["min no puede ser mayor que max"]),
        (field("file", options={"max_mb": 0}), ["max_mb debe ser un número positivo"]),
        (
            field("file", options={"extensions": [1, 2]}),
            ["extensions debe ser una lista de extensiones (pdf, png...)"],
        ),
        (field("text", options=["max_length", 5]), ["las opciones deben ser un mapa"]),
    ],
)
def test_option_errors_name_each_mistake_in_a_definition(definition, mistakes):
    assert option_errors(definition) == mistakes


@pytest.mark.parametrize(
    ("definition", "raw", "stored"),
    [
        (field("text", options={"max_length": "mucho"}), "x" * 255, "x" * 255),
        (field("integer", options={"min": "uno", "max": None}), "-3", -3),
        (field("file", options={"max_mb": "diez", "extensions": 5}), PDF, PDF),
        (field("choice", choices=["a", ["b"], ["c", "Ce"]]), "b", "b"),
        (field("text", options=None), "hola", "hola"),
    ],
)
def test_a_broken_option_never_breaks_the_form_for_the_person_filling_it(definition, raw, stored):
    assert clean_value(definition, raw) == stored
