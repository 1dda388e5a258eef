"""The Quipux process as data: every step a ticket type, loaded idempotently and checked."""

from ticketing.definitions import validate_definition
from ticketing.models import TicketType, TicketTypeVersion
from ticketing.seeding import seed

ROLLOUT = [
    "solicitud-uso",
    "capacitacion-aiq",
    "ambiente-capacitacion",
    "parametrizacion-capacitacion",
    "paso-produccion",
    "parametrizacion-produccion",
]


def test_every_step_of_the_source_is_a_ticket_type(app):
    types = {t.slug: t for t in TicketType.select()}
    assert set(ROLLOUT) | {"soporte", "escalamiento-sge"} <= set(types)
    assert all(types[slug].category == "onboarding" for slug in ROLLOUT)
    step1 = {f.name: f for f in types["solicitud-uso"].field_defs}
    assert {name: step1[name].kind for name in ("ruc", "aiq_cedula", "aiq_correo")} == {
        "ruc": "ruc",
        "aiq_cedula": "cedula",
        "aiq_correo": "email",
    }
    assert step1["oficio_pdf"].options["extensions"] == ["pdf"]
    assert all(f.required for f in step1.values())
    assert types["parametrizacion-capacitacion"].deadline_days == 15
    assert types["solicitud-uso"].open_roles == ["agq"]
    assert types["paso-produccion"].open_roles == ["aiq"]


def test_seeding_again_changes_nothing(app):
    versions = TicketTypeVersion.select().count()
    seed()
    seed()
    assert TicketTypeVersion.select().count() == versions


def test_stage_effects_must_name_known_stages():
    definition = {
        "slug": "x",
        "name": "X",
        "states": [{"key": "a", "label": "A", "category": "open", "initial": True}],
        "on_open": [{"kind": "require_stage", "stages": ["producción"]}],
        "transitions": [
            {
                "name": "t",
                "label": "T",
                "to": "a",
                "effects": [{"kind": "set_stage", "stage": "piloto"}],
            }
        ],
    }
    errors = validate_definition(definition)
    assert any("on_open[0]" in e and "'producción'" in e for e in errors)
    assert any("transitions[0]" in e and "'piloto'" in e for e in errors)
    definition["on_open"] = [{"kind": "require_stage", "stages": ["produccion"]}]
    definition["transitions"][0]["effects"] = [{"kind": "set_stage", "stage": "produccion"}]
    assert validate_definition(definition) == []
