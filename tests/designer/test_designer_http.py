"""The ticket-type designer over HTTP, with the forms its pages render: build a type, open
one, edit it into a new version, refuse broken definitions writing nothing."""

import io
import re

import pytest

from tests.conftest import make_ticket, text_of, user
from tests.designer.helpers import errors_of, page_form, post
from ticketing.db import count_queries
from ticketing.definitions import definition_of
from ticketing.models import FieldDef, Ticket, TicketType, TicketTypeVersion
from ticketing.process_io import dump_yaml, export_process

NEW = "/disenador/nuevo"
VALID_CEDULA, WRONG_CEDULA = "1710034065", "1710034066"
ITEMS = ["Firma escaneada recibida", "Certificado verificado", "Usuario notificado"]


def _design_written() -> tuple:
    """Everything the designer writes: rows of every type and their versions."""
    return (
        dump_yaml(export_process()),
        TicketTypeVersion.select().count(),
        [(v.id, v.number, v.definition) for v in TicketTypeVersion.select().order_by(1)],
    )


def build_signature_type(client, *, name="Registro de firma electrónica"):
    """The AGQ builds a type in the designer as a person would: typing, adding rows, saving."""
    page = client.get(NEW)
    assert page.status_code == 200
    form = page_form(page)
    form.set("name", name).set("category", "support").set("queue_level", "1")
    form.check("open_roles", "interno")
    form.set("field_rows-0-label", "Número de cédula").set("field_rows-0-kind", "cedula")
    form.check("field_rows-0-required")
    form.set("checklist_rows-0-label", ITEMS[0])
    # each "Agregar ítem" comes back with what was typed and one more empty row
    for i, label in enumerate(ITEMS[1:], start=1):
        form = page_form(post(client, NEW, form, op="add:checklist"))
        form.set(f"checklist_rows-{i}-label", label)
    form.set("state_rows-0-label", "Abierto").set("state_rows-0-key", "abierto")
    form.check("state_rows-0-initial")
    form = page_form(post(client, NEW, form, op="add:states"))
    form.set("state_rows-1-label", "Cerrado").set("state_rows-1-key", "cerrado")
    form.set("state_rows-1-category", "done")
    # the transition row offers the states typed above once the page comes back
    form = page_form(post(client, NEW, form, op="add:transitions"))
    form.set("transition_rows-0-label", "Cerrar")
    form.check("transition_rows-0-from_states", "abierto")
    form.set("transition_rows-0-to_state", "cerrado")
    form.check("transition_rows-0-roles", "focal").check("transition_rows-0-roles", "aiq")
    form.check("transition_rows-0-guards", "checklist_complete")
    return post(client, NEW, form)


def test_agq_builds_a_type_that_refuses_a_wrong_cedula_and_guards_its_transition(app, client, auth):
    auth.login("agq")
    saved = build_signature_type(client)

    assert saved.status_code == 302, errors_of(saved)
    ticket_type = TicketType.get(TicketType.name == "Registro de firma electrónica")
    assert saved.headers["Location"].endswith(f"/disenador/{ticket_type.id}/")
    version = TicketTypeVersion.get(TicketTypeVersion.ticket_type == ticket_type)
    defn = version.definition
    assert version.number == 1
    assert ticket_type.slug == "registro-de-firma-electronica"
    assert [(f["name"], f["kind"], f["required"]) for f in defn["fields"]] == [
        ("numero_de_cedula", "cedula", True)
    ]
    assert [i["label"] for i in defn["checklist"]] == ITEMS
    assert all(i["required"] for i in defn["checklist"])
    assert [(s["key"], s["category"], s["initial"]) for s in defn["states"]] == [
        ("abierto", "open", True),
        ("cerrado", "done", False),
    ]
    (transition,) = defn["transitions"]
    assert transition["from"] == ["abierto"] and transition["to"] == "cerrado"
    assert transition["guards"] == ["checklist_complete"]
    assert transition["roles"] == ["focal", "aiq"]
    listing = text_of(client.get("/disenador/"))
    assert "Registro de firma electrónica" in listing

    # the internal user opens one; a wrong cédula is refused beside the field
    auth.login("interno")
    url = f"/nuevo/{ticket_type.slug}/"
    assert "Registro de firma electrónica" in text_of(client.get("/nuevo/"))
    refused = client.post(url, data={"title": "Alta de firma", "f_numero_de_cedula": WRONG_CEDULA})
    assert refused.status_code == 200
    assert re.search(
        r'id="f_numero_de_cedula-error"[^>]*>La cédula no es válida: revise sus 10 dígitos\.',
        refused.get_data(as_text=True),
    )
    assert Ticket.select().where(Ticket.type == ticket_type).count() == 0
    opened = client.post(url, data={"title": "Alta de firma", "f_numero_de_cedula": VALID_CEDULA})
    assert opened.status_code == 302
    ticket = Ticket.get(Ticket.type == ticket_type)
    assert ticket.fields == {"numero_de_cedula": VALID_CEDULA}

    # the focal user cannot close it until the three items are ticked
    auth.login("focal")
    page = text_of(client.get(f"/ticket/{ticket.id}/"))
    assert "Faltan ítems de la lista de verificación" in page
    refused = client.post(
        f"/ticket/{ticket.id}/transition", data={"name": "cerrar"}, follow_redirects=True
    )
    assert "Faltan ítems de la lista de verificación: " + "; ".join(ITEMS) in text_of(refused)
    assert Ticket.get_by_id(ticket.id).state == "abierto"
    for item in defn["checklist"]:
        client.post(f"/ticket/{ticket.id}/checklist/{item['key']}", data={"done": "1"})
    closed = client.post(
        f"/ticket/{ticket.id}/transition", data={"name": "cerrar"}, follow_redirects=True
    )
    assert "Hecho." in text_of(closed)
    assert Ticket.get_by_id(ticket.id).state == "cerrado"
    assert Ticket.get_by_id(ticket.id).state_category == "done"


def test_editing_a_type_with_tickets_makes_a_new_version_the_old_ticket_keeps(app, client, auth):
    auth.login("agq")
    assert build_signature_type(client).status_code == 302
    ticket_type = TicketType.get(TicketType.name == "Registro de firma electrónica")
    old = make_ticket(
        user("interno"),
        ticket_type.slug,
        title="Ticket de la versión 1",
        fields={"numero_de_cedula": VALID_CEDULA},
    )
    url = f"/disenador/{ticket_type.id}/"

    form = page_form(client.get(url))
    assert form.values["field_rows-0-label"] == ["Número de cédula"]
    form.set("field_rows-0-label", "Cédula del titular")
    form.set("field_rows-1-label", "Cargo del titular")  # the empty row at the end
    form.check("field_rows-1-required")
    saved = post(client, url, form)

    assert saved.status_code == 302, errors_of(saved)
    versions = list(
        TicketTypeVersion.select()
        .where(TicketTypeVersion.ticket_type == ticket_type)
        .order_by(TicketTypeVersion.number)
    )
    assert [v.number for v in versions] == [1, 2]
    assert Ticket.get_by_id(old.id).type_version_id == versions[0].id
    assert [f["label"] for f in versions[0].definition["fields"]] == ["Número de cédula"]
    assert [f["label"] for f in versions[1].definition["fields"]] == [
        "Cédula del titular",
        "Cargo del titular",
    ]
    assert "Versión 2 · 1 ticket(s)" in text_of(client.get(url))

    # the old ticket still renders with its own version's fields
    auth.login("focal")
    page = text_of(client.get(f"/ticket/{old.id}/"))
    assert "Número de cédula" in page and VALID_CEDULA in page
    assert "Cargo del titular" not in page
    # a new ticket is asked the new field
    auth.login("interno")
    new_form = text_of(client.get(f"/nuevo/{ticket_type.slug}/"))
    assert "Cédula del titular" in new_form and "Cargo del titular" in new_form


def test_saving_a_type_unchanged_writes_no_new_version(app, client, auth):
    """Every seeded type goes through the form and back without a change."""
    make_ticket()  # the support type is in use: any change would make a version
    auth.login("agq")
    before = _design_written()
    for ticket_type in list(TicketType.select()):
        url = f"/disenador/{ticket_type.id}/"
        saved = post(client, url, page_form(client.get(url)))
        assert saved.status_code == 302, (ticket_type.slug, errors_of(saved))
    assert _design_written() == before


def _edit_support(client, change):
    support = TicketType.get(TicketType.slug == "soporte")
    url = f"/disenador/{support.id}/"
    form = page_form(client.get(url))
    change(form)
    return post(client, url, form)


def _remove_state_in_use(form):
    keys = {name: values for name, values in form.values.items() if name.endswith("-key")}
    row = next(n for n, v in keys.items() if n.startswith("state_rows") and v == ["resuelto"])
    form.check(row.replace("-key", "-remove"))


def _duplicate_field(form):
    form.set("field_rows-4-label", "Otra descripción")  # the empty row at the end
    form.set("field_rows-4-name", "descripcion")


def _no_initial_state(form):
    for name, values in list(form.values.items()):
        if name.startswith("state_rows") and name.endswith("-initial") and values:
            form.check(name, on=False)


def _bad_yaml_effects(form):
    form.set("transition_rows-0-effects", "- kind: move_to_level\n  level: [2\n")


@pytest.mark.parametrize(
    "change, expected",
    [
        (_remove_state_in_use, "estado de destino desconocido 'resuelto'"),
        (_duplicate_field, "Campo 5 «Otra descripción»: campo repetido 'descripcion'"),
        (_no_initial_state, "Estados: debe haber exactamente un estado inicial"),
        (_bad_yaml_effects, "efectos: YAML inválido en la línea 3"),
    ],
    ids=["unknown-state", "duplicate-field", "no-initial-state", "bad-yaml-effects"],
)
def test_a_broken_definition_is_refused_with_its_location_and_nothing_is_written(
    app, client, auth, change, expected
):
    auth.login("agq")
    before = _design_written()

    refused = _edit_support(client, change)

    assert refused.status_code == 200
    errors = errors_of(refused)
    assert any(expected in e for e in errors), errors
    assert all(": " in e for e in errors)  # each names where it is
    assert "No se guardó nada" in text_of(refused)
    # and the mistake is shown again beside its row (or its section)
    assert re.search(r'data-testid="(row|section)-error"', refused.get_data(as_text=True))
    assert _design_written() == before


def test_a_refused_draft_comes_back_as_typed(app, client, auth):
    auth.login("agq")
    form = page_form(client.get(NEW))
    assert "transition_rows-0-label" not in form.kinds  # no states yet to move between
    form.set("name", "Sin estados").set("field_rows-0-label", "Oficina")
    refused = post(client, NEW, form)
    assert errors_of(refused) == ["Estados: se necesita al menos un estado"]
    again = page_form(refused)
    assert again.values["name"] == ["Sin estados"]
    assert again.values["field_rows-0-label"] == ["Oficina"]
    assert not TicketType.select().where(TicketType.name == "Sin estados").exists()


def test_a_new_type_cannot_take_an_existing_identifier(app, client, auth):
    auth.login("agq")
    form = page_form(client.get(NEW))
    form.set("name", "Otro soporte").set("slug", "soporte")
    form.set("state_rows-0-label", "Nuevo").check("state_rows-0-initial")
    refused = post(client, NEW, form)
    assert "Identificador: ya existe un tipo con el identificador 'soporte'" in errors_of(refused)
    assert TicketType.get(TicketType.slug == "soporte").name == "Soporte de primer nivel"


def test_removing_rows_and_yaml_settings_are_saved(app, client, auth):
    auth.login("agq")
    support = TicketType.get(TicketType.slug == "soporte")
    url = f"/disenador/{support.id}/"
    form = page_form(client.get(url))
    assert form.values["field_rows-0-choices"][0].splitlines()[0] == "incidente|Incidente"
    form.set("field_rows-0-choices", "incidente|Incidente\nconsulta|Consulta")
    form.check("field_rows-2-remove")
    form.set("field_rows-4-label", "Oficina").set("field_rows-4-options", "max_length: 40")
    saved = post(client, url, form)
    assert saved.status_code == 302, errors_of(saved)
    fields = {f.name: f for f in FieldDef.select().where(FieldDef.ticket_type == support)}
    assert fields["categoria"].choices == [["incidente", "Incidente"], ["consulta", "Consulta"]]
    assert "descripcion" not in fields
    assert fields["oficina"].options == {"max_length": 40}


def test_preview_renders_the_portal_form_and_only_checks_it(app, client, auth):
    auth.login("agq")
    assert build_signature_type(client).status_code == 302
    ticket_type = TicketType.get(TicketType.name == "Registro de firma electrónica")
    url = f"/disenador/{ticket_type.id}/vista-previa"
    preview = client.get(url)
    html = preview.get_data(as_text=True)
    assert '<label for="f_numero_de_cedula">Número de cédula' in html
    assert 'inputmode="numeric"' in html
    portal_form = page_form(preview, "ticket-form")
    assert set(portal_form.kinds) == {"title", "f_numero_de_cedula"}
    checked = client.post(url, data={"title": "x", "f_numero_de_cedula": WRONG_CEDULA})
    assert "La cédula no es válida" in text_of(checked)
    valid = client.post(url, data={"title": "x", "f_numero_de_cedula": VALID_CEDULA})
    assert "Los datos son válidos" in text_of(valid)
    assert Ticket.select().where(Ticket.type == ticket_type).count() == 0


def test_types_list_shows_version_and_tickets_with_the_same_queries_for_more_types(
    app, client, auth
):
    from ticketing import design

    agq = auth.login("agq")
    make_ticket()
    make_ticket()
    assert client.get("/disenador/").status_code == 200  # the session's user is loaded
    with count_queries() as few:
        page = client.get("/disenador/").get_data(as_text=True)
    soporte = re.search(r'data-testid="type-soporte">(.*?)</tr>', page, re.S).group(1)
    assert re.search(r'data-testid="version">1<', soporte)
    assert re.search(r'data-testid="tickets">2<', soporte)
    for n in range(12):
        design.save_type(
            agq,
            {
                "name": f"Tipo {n}",
                "open_roles": ["interno"],
                "states": [{"label": "Abierto", "initial": True}],
            },
        )
        make_ticket(type_slug=f"tipo-{n}")
    with count_queries() as many:
        page = client.get("/disenador/").get_data(as_text=True)
    assert page.count('data-testid="type-') == TicketType.select().count() == 20
    assert len(many) == len(few)


def test_process_page_round_trips_and_refuses_a_broken_file_whole(app, client, auth):
    auth.login("agq")
    download = client.get("/disenador/proceso.yaml")
    assert download.status_code == 200
    assert download.headers["Content-Type"].startswith("application/yaml")
    assert 'filename="proceso-mesa.yaml"' in download.headers["Content-Disposition"]
    text = download.get_data(as_text=True)
    assert text == dump_yaml(export_process())
    versions = TicketTypeVersion.select().count()

    # the same file back: idempotent, counts shown, no new version
    page = client.get("/disenador/proceso")
    form = page_form(page, "import-form")
    assert "upload" in form.kinds and "text" in form.kinds
    same = client.post(
        "/disenador/proceso",
        data={"upload": (io.BytesIO(text.encode()), "proceso.yaml")},
        content_type="multipart/form-data",
    )
    counts = text_of(same)
    assert "Importado: 8 tipos de ticket" in counts
    assert TicketTypeVersion.select().count() == versions
    assert dump_yaml(export_process()) == text

    # an edited file, pasted: the change is imported
    edited = text.replace("name: Soporte de primer nivel", "name: Soporte a usuarios", 1)
    assert client.post("/disenador/proceso", data={"text": edited}).status_code == 200
    assert TicketType.get(TicketType.slug == "soporte").name == "Soporte a usuarios"

    # a file with a valid change and a mistake: every mistake listed, nothing imported
    before = _design_written()
    broken = edited.replace("name: Soporte a usuarios", "name: Otro nombre", 1).replace(
        "to: resuelto", "to: inexistente", 1
    )
    refused = client.post("/disenador/proceso", data={"text": broken})
    errors = errors_of(refused)
    assert any("soporte: transitions[" in e and "'inexistente'" in e for e in errors), errors
    assert _design_written() == before
    syntax = client.post("/disenador/proceso", data={"text": "ticket_types: [\n  - slug: x"})
    assert errors_of(syntax)[0].startswith("línea ")
    empty = client.post("/disenador/proceso", data={"text": "  "})
    assert errors_of(empty) == ["El archivo está vacío."]
    assert _design_written() == before


def test_adding_a_row_shows_the_form_again_and_writes_nothing(app, client, auth):
    auth.login("agq")
    support = TicketType.get(TicketType.slug == "soporte")
    url = f"/disenador/{support.id}/"
    form = page_form(client.get(url))
    form.set("field_rows-4-label", "Oficina")
    before = _design_written()

    again = post(client, url, form, op="add:fields")

    assert again.status_code == 200
    form = page_form(again)
    assert form.values["field_rows-4-label"] == ["Oficina"]
    assert form.values["field_rows-5-label"] == [""]
    # the keyboard lands on the new row
    assert re.search(r'<input autofocus[^>]*id="field_rows-5-label"', again.get_data(as_text=True))
    assert _design_written() == before
    assert [f["name"] for f in definition_of(support)["fields"]] == [
        "categoria",
        "modulo",
        "descripcion",
        "adjunto",
    ]


def test_an_edit_over_someone_elses_newer_save_is_refused_and_kept(app, client, auth):
    """Two AGQs edit the same type: the second save is told, keeps its typing, then decides."""
    auth.login("agq")
    support = TicketType.get(TicketType.slug == "soporte")
    url = f"/disenador/{support.id}/"
    mine = page_form(client.get(url))
    theirs = page_form(client.get(url))
    theirs.set("description", "Cambio de la otra persona")
    assert post(client, url, theirs).status_code == 302
    written = _design_written()

    mine.set("description", "Mi cambio")
    refused = post(client, url, mine)

    assert refused.status_code == 200
    assert "Otra persona guardó cambios en este tipo" in text_of(refused)
    assert _design_written() == written
    again = page_form(refused)
    assert again.values["description"] == ["Mi cambio"]
    # saving again, knowingly, replaces the other person's version
    assert post(client, url, again).status_code == 302
    assert definition_of(TicketType.get_by_id(support.id))["description"] == "Mi cambio"
