"""ticketing.design: a draft as a form sends it, validated whole, written whole or not at all."""

import pytest

from tests.conftest import make_ticket, user
from ticketing import design
from ticketing.models import Ticket, TicketType, TicketTypeVersion
from ticketing.process_io import dump_yaml, export_process


def _draft(**overrides):
    draft = {
        "name": "Solicitud de firma",
        "open_roles": ["interno"],
        "fields": [{"label": "Número de cédula", "kind": "cedula", "required": True}],
        "checklist": [{"label": "Firma recibida", "required": True}],
        "states": [
            {"label": "Abierto", "category": "open", "initial": True},
            {"label": "Cerrado", "category": "done"},
        ],
        "transitions": [
            {
                "label": "Cerrar",
                "from": ["abierto"],
                "to": "cerrado",
                "roles": ["focal"],
                "guards": ["checklist_complete"],
                "effects": "- kind: notify\n  event: state_changed\n  roles: [requester]\n",
            }
        ],
    }
    draft.update(overrides)
    return draft


def test_a_draft_with_text_attributes_becomes_a_published_definition(app):
    version = design.save_type(
        user("agq"),
        _draft(
            deadline_days="5",
            on_open="",
            fields=[
                {
                    "label": "Módulo",
                    "kind": "choice",
                    "choices": "firma|Firma electrónica\nbandeja\n",
                    "options": '{"max_length": 40}',
                }
            ],
        ),
    )
    defn = version.definition
    assert version.number == 1 and defn["slug"] == "solicitud-de-firma"
    assert defn["deadline_days"] == 5
    assert defn["fields"][0]["name"] == "modulo"
    assert defn["fields"][0]["choices"] == [["firma", "Firma electrónica"], ["bandeja", "bandeja"]]
    assert defn["fields"][0]["options"] == {"max_length": 40}
    assert [s["key"] for s in defn["states"]] == ["abierto", "cerrado"]
    assert defn["transitions"][0]["name"] == "cerrar"
    assert defn["transitions"][0]["effects"] == [
        {"kind": "notify", "event": "state_changed", "roles": ["requester"]}
    ]


def test_every_mistake_is_reported_at_once_and_nothing_is_written(app):
    before = dump_yaml(export_process()), TicketTypeVersion.select().count()
    draft = _draft(
        deadline_days="quince",
        fields=[
            {"label": "Cédula", "kind": "cedula"},
            {"label": "Cédula", "kind": "cedula"},
            {"label": "Tamaño", "kind": "integer", "options": "min: 5\nmax: 1"},
        ],
        states=[{"label": "Abierto", "category": "open"}],
        on_open="kind: notify",
    )
    draft["transitions"][0]["effects"] = "- kind: [sin cerrar"
    with pytest.raises(design.DefinitionInvalid) as refused:
        design.save_type(user("agq"), draft)
    errors = refused.value.errors
    assert "Plazo: escriba un número entero" in errors
    assert "Campo 2 «Cédula»: campo repetido 'cedula'" in errors
    assert "Campo 3 «Tamaño»: opciones: min no puede ser mayor que max" in errors
    assert "Estados: debe haber exactamente un estado inicial" in errors
    assert "Efectos al abrir: se esperaba una lista (cada elemento empieza con «- »)" in errors
    assert any(
        e.startswith("Transición 1 «Cerrar»: efectos: YAML inválido en la línea 1") for e in errors
    )
    assert any("estado de destino desconocido 'cerrado'" in e for e in errors)
    assert (dump_yaml(export_process()), TicketTypeVersion.select().count()) == before


def test_editing_keeps_the_identifier_and_versions_only_what_tickets_use(app):
    agq = user("agq")
    first = design.save_type(agq, _draft())
    type_id = first.ticket_type_id
    # no ticket yet: an edit rewrites version 1
    again = design.save_type(agq, _draft(name="Solicitud de firma (v1)", slug="otro"), type_id)
    assert again.id == first.id and again.number == 1
    assert TicketType.get_by_id(type_id).slug == "solicitud-de-firma"
    ticket = make_ticket(
        user("interno"), "solicitud-de-firma", fields={"numero_de_cedula": "1710034065"}
    )
    edited = design.save_type(agq, _draft(name="Solicitud de firma (v2)"), type_id)
    assert edited.number == 2
    assert Ticket.get_by_id(ticket.id).type_version_id == first.id
    assert TicketTypeVersion.get_by_id(first.id).definition["name"] == "Solicitud de firma (v1)"


def test_transition_keys_and_identifiers_must_fit_in_an_address(app):
    with pytest.raises(design.DefinitionInvalid) as refused:
        design.save_type(
            user("agq"),
            _draft(slug="mi/tipo", checklist=[{"key": "a/b", "label": "Ítem"}]),
        )
    errors = refused.value.errors
    assert "Identificador: identificador inválido (letras, dígitos, _ y -)" in errors
    assert "Ítem de la lista 1 «Ítem»: clave inválida (letras, dígitos, _ y -)" in errors


def test_a_missing_label_is_a_mistake_not_a_crash(app):
    data = export_process()
    support = next(t for t in data["ticket_types"] if t["slug"] == "soporte")
    del support["states"][0]["label"]
    with pytest.raises(design.DefinitionInvalid) as refused:
        design.import_process_text(user("agq"), dump_yaml(data))
    assert any("soporte: states[0]: falta la etiqueta" in e for e in refused.value.errors)
