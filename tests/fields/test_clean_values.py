"""clean_values: the one validation of a whole form, as the services call it."""

import pytest

from tests.fields.helpers import PDF, field
from ticketing.fields import KINDS, clean_values, is_blank

PEOPLE = {7: "Ana Andrade", 9: "Bruno Benítez"}


def named(name, kind, **extra):
    return field(kind, name=name, **extra)


FORM = [
    named("institucion", "text", required=True),
    named("ruc", "ruc", required=True),
    named("telefono", "phone"),
    named("modulos", "multichoice"),
    named("focales", "person", options={"multiple": True}),
    named("responsable", "person"),
    named("acepta", "check", required=True),
    named("oficio", "file"),
    named("urgente", "boolean"),
]


@pytest.mark.parametrize("blank", [None, "", "   ", []])
@pytest.mark.parametrize("kind", sorted(set(KINDS) - {"check"}))
def test_required_blank_is_refused_as_obligatorio(kind, blank):
    values, errors = clean_values([named("x", kind, required=True)], {"x": blank}, people=PEOPLE)
    assert errors == {"x": "Este campo es obligatorio."}
    assert values == {}


@pytest.mark.parametrize("blank", [None, "", False])
def test_required_check_left_unticked_says_it_must_be_ticked(blank):
    values, errors = clean_values([named("acepta", "check", required=True)], {"acepta": blank})
    assert errors == {"acepta": "Debe marcar esta casilla."}


def test_required_missing_from_the_input_is_refused():
    values, errors = clean_values([named("ruc", "ruc", required=True)], {})
    assert errors == {"ruc": "Este campo es obligatorio."}


def test_optional_blanks_store_an_empty_value_of_their_kind():
    fields = [named(k, k, options={"multiple": True} if k == "person" else {}) for k in KINDS]
    values, errors = clean_values(fields, {}, people=PEOPLE)
    assert errors == {}
    assert values["multichoice"] == []
    assert values["person"] == []
    assert values["check"] is False
    assert values["boolean"] is None
    assert values["file"] is None
    assert values["text"] is None
    assert set(values) == set(KINDS)


def test_false_is_an_answer_for_yes_no_but_blank_for_a_check():
    assert not is_blank(field("boolean"), False)
    assert is_blank(field("check"), False)
    assert is_blank(field("text"), "  ")
    assert is_blank(field("multichoice"), ())
    assert not is_blank(field("integer"), 0)


def test_every_field_gets_its_own_message_at_once():
    raw = {
        "institucion": "",
        "ruc": "123",
        "telefono": "+1 202 555 0123",
        "modulos": ["inventada"],
        "focales": ["7", "8"],
        "responsable": "x",
        "acepta": False,
        "urgente": "quizás",
    }
    values, errors = clean_values(FORM, raw, people=PEOPLE)
    assert errors == {
        "institucion": "Este campo es obligatorio.",
        "ruc": "El RUC no es válido: revise sus 13 dígitos.",
        "telefono": "Solo se aceptan números de teléfono de Ecuador.",
        "modulos": "Elija solo entre las opciones.",
        "focales": "Elija una persona de la institución.",
        "responsable": "Elija una persona de la institución.",
        "acepta": "Debe marcar esta casilla.",
        "urgente": "Responda sí o no.",
    }
    assert values == {"oficio": None}


def test_valid_form_is_normalized():
    raw = {
        "institucion": "  Ministerio de Prueba ",
        "ruc": "1760000230001",
        "telefono": "02 123 4567 ext. 10",
        "modulos": ["otro", "otro"],
        "focales": ["9", "7"],
        "responsable": "7",
        "acepta": True,
        "oficio": PDF,
        "urgente": "no",
    }
    values, errors = clean_values(FORM, raw, people=PEOPLE)
    assert errors == {}
    assert values == {
        "institucion": "Ministerio de Prueba",
        "ruc": "1760000230001",
        "telefono": "+593 2-123-4567 ext. 10",
        "modulos": ["otro"],
        "focales": [9, 7],
        "responsable": 7,
        "acepta": True,
        "oficio": PDF,
        "urgente": False,
    }


def test_unknown_field_names_are_reported():
    values, errors = clean_values(
        FORM[:2], {"institucion": "X", "ruc": "1760000230001", "clave": "1", "rol": "agq"}
    )
    assert errors == {"clave": "Campo desconocido.", "rol": "Campo desconocido."}


def test_partial_validates_only_what_was_given():
    values, errors = clean_values(FORM, {"telefono": "0991234567"}, partial=True)
    assert errors == {}
    assert values == {"telefono": "+593 99 123 4567"}


def test_partial_still_refuses_clearing_a_required_field():
    values, errors = clean_values(FORM, {"ruc": " ", "telefono": ""}, partial=True)
    assert errors == {"ruc": "Este campo es obligatorio."}
    assert values == {"telefono": None}


def test_partial_reports_unknown_names_and_invalid_values():
    values, errors = clean_values(FORM, {"ruc": "1760000230000", "nuevo": "x"}, partial=True)
    assert errors == {
        "ruc": "El RUC no es válido: revise sus 13 dígitos.",
        "nuevo": "Campo desconocido.",
    }
