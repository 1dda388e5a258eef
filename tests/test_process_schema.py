"""Process files are checked against a schema: unknown keys, odd shapes and deep nesting refused."""

import copy

import pytest

from seeds import DEMO_FILE, NOTIFICATIONS_FILE, PROCESS_FILE
from tests.conftest import user
from ticketing import design
from ticketing.definitions import definition_of
from ticketing.models import DefaultTrackingItem, FieldDef, TicketType, TrackingItem
from ticketing.process_io import (
    MAX_DEPTH,
    ImportErrors,
    dump_yaml,
    export_process,
    import_process,
    parse,
    schema_errors,
    validate_process,
)
from ticketing.seeding import demo_data

SEED = PROCESS_FILE.read_text(encoding="utf-8")
FIXED_LINE = 'help_text: "Qué intentaba hacer, qué ocurrió y desde cuándo.",'
CUT_LINE = "help_text: Qué intentaba hacer, qué ocurrió y desde cuándo.,"


def _support_index(data) -> int:
    return next(i for i, t in enumerate(data["ticket_types"]) if t["slug"] == "soporte")


def test_the_seed_files_fit_the_schema_and_the_rules(app):
    for path in (PROCESS_FILE, NOTIFICATIONS_FILE):
        data = parse(path.read_text(encoding="utf-8"))
        assert schema_errors(data) == [], path.name
        assert validate_process(data) == [], path.name
    assert {u["email"] for u in demo_data()["users"]} >= {"agq@sge.gob.ec"}


def test_the_support_form_shows_the_whole_help_text(app, client, auth):
    auth.login("interno")
    page = client.get("/nuevo/soporte/").get_data(as_text=True)
    assert "Qué intentaba hacer, qué ocurrió y desde cuándo." in page


def test_a_help_text_cut_at_an_unquoted_comma_is_refused_where_it_is(app):
    assert SEED.count(FIXED_LINE) == 1
    # a valid change early in the file must not survive the mistake later in it
    broken = SEED.replace(FIXED_LINE, CUT_LINE).replace(
        "name: Solicitud de uso de Quipux", "name: Nombre cambiado", 1
    )
    data = parse(broken)
    before = dump_yaml(export_process())

    with pytest.raises(ImportErrors) as refused:
        import_process(data)

    index = _support_index(data)
    assert refused.value.errors == [
        f"ticket_types[{index}] soporte: fields[2]: clave desconocida 'qué ocurrió y desde cuándo.'"
    ]
    assert dump_yaml(export_process()) == before


def _seed():
    return copy.deepcopy(parse(SEED))


def _type(data, slug):
    return next(t for t in data["ticket_types"] if t["slug"] == slug)


def _unknown_top(data):
    data["tipos"] = []


def _unknown_type_key(data):
    _type(data, "soporte")["descripcion"] = "typo"


def _unknown_state_key(data):
    _type(data, "soporte")["states"][1]["color"] = "red"


def _unknown_effect_param(data):
    effect = _type(data, "paso-produccion")["transitions"][1]["effects"][1]
    effect["rols"] = effect.pop("roles")


def _unknown_option(data):
    _type(data, "solicitud-uso")["fields"][13]["options"]["max_size"] = 10


def _unknown_tracking_key(data):
    data["tracking_template"][0]["nota"] = "x"


def _unknown_template_key(data):
    data["notification_templates"][0]["asunto"] = "x"


def _wrong_boolean(data):
    _type(data, "soporte")["fields"][0]["required"] = "sí"


def _null_label(data):
    _type(data, "soporte")["states"][0]["label_en"] = None


def _choice_en_for_no_choice(data):
    _type(data, "soporte")["fields"][0]["choices_en"]["urgente"] = "Urgent"


MISTAKES = [
    (_unknown_top, "archivo", "clave desconocida 'tipos'"),
    (_unknown_type_key, "soporte", "clave desconocida 'descripcion'"),
    (_unknown_state_key, "soporte: states[1]", "clave desconocida 'color'"),
    (_unknown_effect_param, "paso-produccion: transitions[1]", "parámetro desconocido 'rols'"),
    (_unknown_option, "solicitud-uso: fields[13]", "ajuste desconocido 'max_size'"),
    (_unknown_tracking_key, "tracking_template[0]", "clave desconocida 'nota'"),
    (_unknown_template_key, "notification_templates[0]", "clave desconocida 'asunto'"),
    (_wrong_boolean, "soporte: fields[0].required", "se esperaba true o false"),
    (_null_label, "soporte: states[0].label_en", "falta el valor"),
    (_choice_en_for_no_choice, "soporte: fields[0]", "opción desconocida 'urgente'"),
]


def test_every_level_refuses_what_it_does_not_know_with_its_location(app):
    for mistake, where, message in MISTAKES:
        data = _seed()
        mistake(data)
        errors = validate_process(data)
        assert len(errors) == 1, (mistake.__name__, errors)
        assert where in errors[0] and errors[0].endswith(message), (mistake.__name__, errors)


@pytest.mark.parametrize(
    "text",
    [
        "ticket_types:\n  - " + "[" * 100_000 + "]" * 100_000,
        "ticket_types: " + '{"a": ' * 5_000 + "1" + "}" * 5_000,
        "a:" + "".join(f"\n{'  ' * i}- " for i in range(MAX_DEPTH + 5)) + "x",
    ],
    ids=["flow-lists", "json-maps", "block-lists"],
)
def test_deep_nesting_is_a_clean_error(text):
    with pytest.raises(ImportErrors) as refused:
        parse(text)
    (error,) = refused.value.errors
    assert error.startswith("línea ") and error.endswith(f"anidado a más de {MAX_DEPTH} niveles")


def test_aliases_that_would_explode_or_loop_are_refused():
    # ten references to ten references... : 10**8 nodes from a few hundred characters
    lines = ["l0: &l0 [" + ", ".join(["x"] * 10) + "]"]
    lines += [f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * 10) + "]" for n in range(1, 8)]
    bomb = "\n".join(lines)
    with pytest.raises(ImportErrors) as refused:
        parse(bomb)
    assert "elementos" in refused.value.errors[0]
    with pytest.raises(ImportErrors) as refused:
        parse("ticket_types: &t [*t]")
    assert "referencia circular" in refused.value.errors[0]
    # a plain shared value is fine
    assert parse("x: &v [1, 2]\ny: *v\n") == {"x": [1, 2], "y": [1, 2]}


def test_a_deeply_nested_upload_writes_nothing_and_says_why(app, client, auth):
    auth.login("agq")
    before = dump_yaml(export_process())
    deep = "ticket_types:\n  - slug: soporte\n    name: " + "[" * 50_000 + "]" * 50_000
    page = client.post("/disenador/proceso", data={"text": deep})
    assert page.status_code == 200
    assert f"anidado a más de {MAX_DEPTH} niveles" in page.get_data(as_text=True)
    assert dump_yaml(export_process()) == before


def test_english_texts_round_trip_through_export_and_import(app):
    exported = export_process()
    support = _type(exported, "soporte")
    assert support["description_en"].startswith("A problem or question")
    assert support["fields"][2]["help_text_en"].startswith("What you were trying to do")
    assert support["fields"][0]["choices_en"]["consulta"] == "Question"
    assert exported["tracking_template"][0]["label_en"].startswith("Organizational structure")
    text = dump_yaml(exported)
    for model in (DefaultTrackingItem, FieldDef, TicketType):
        model.delete().execute()

    import_process(parse(text))

    assert dump_yaml(export_process()) == text


def test_tracking_items_of_a_new_institution_carry_their_english(app):
    institution = user("aiq").institution
    first = (
        TrackingItem.select()
        .where(TrackingItem.institution == institution)
        .order_by(TrackingItem.order)[0]
    )
    assert first.label_en == "Organizational structure (areas and units) registered"


def test_a_designer_save_keeps_the_english_it_does_not_edit(app):
    support = TicketType.get(TicketType.slug == "soporte")
    draft = definition_of(support)
    # the designer's form knows no English description, help texts nor choice labels
    draft.pop("description_en")
    for field in draft["fields"]:
        field.pop("help_text_en")
        field.pop("choices_en")
    draft["name"] = "Soporte a usuarios"

    design.save_type(user("agq"), draft, support.id)

    saved = definition_of(TicketType.get_by_id(support.id))
    assert saved["name"] == "Soporte a usuarios"
    assert saved["description_en"].startswith("A problem or question")
    assert saved["fields"][0]["choices_en"]["incidente"] == "Incident"


def test_the_demo_file_refuses_unknown_keys_too(tmp_path):
    path = tmp_path / "demo.yaml"
    text = DEMO_FILE.read_text(encoding="utf-8")
    path.write_text(text.replace("cargo: Asistente}", "cargo: Asistente, rol: x}"), "utf-8")
    with pytest.raises(ImportErrors) as refused:
        demo_data(path)
    assert refused.value.errors == ["users[3]: clave desconocida 'rol'"]
