"""Every endpoint of /api/v1 doing what the UI does, through the same services."""

import datetime as dt
import io

from tests.api.conftest import assert_error
from tests.conftest import make_ticket, user
from ticketing import services
from ticketing.db import count_queries
from ticketing.models import Attachment, Comment, Institution, Ticket, TicketEvent

SUPPORT = {"categoria": "incidente", "modulo": "firma_electronica", "descripcion": "No firma."}


def test_ticket_types_are_the_ones_the_caller_may_open_with_their_fields(app, api):
    interno = api.get("/ticket-types", "interno").get_json()["items"]
    assert [t["slug"] for t in interno] == ["soporte"]
    focal = {t["slug"] for t in api.get("/ticket-types", "focal").get_json()["items"]}
    assert {"soporte", "escalamiento-sge"} <= focal
    fields = {f["name"]: f for f in interno[0]["fields"]}
    assert fields["categoria"]["kind"] == "choice"
    assert fields["categoria"]["required"] is True
    assert fields["categoria"]["label"] == "Categoría"
    assert {"value": "consulta", "label": "Consulta"} in fields["categoria"]["choices"]
    assert fields["adjunto"]["kind"] == "file" and fields["adjunto"]["required"] is False


def test_open_a_ticket(app, api):
    response = api.post(
        "/tickets", "interno", json={"type": "soporte", "title": "Sin firma", "fields": SUPPORT}
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/tickets/{body['id']}")
    ticket = Ticket.get_by_id(body["id"])
    assert ticket.requester_id == user("interno").id
    assert ticket.queue.institution.sigla == "INSTA" and ticket.queue_level == 1
    assert body["reference"] == f"MESA-{ticket.id}" and body["state"] == "nuevo"
    assert body["fields"]["modulo"] == "firma_electronica"
    assert body["history"][0]["kind"] == "created"
    assert body["history"][0]["data"]["source"] == "api"


def test_open_a_ticket_refusals(app, api):
    invalid = assert_error(
        api.post(
            "/tickets",
            "interno",
            json={"type": "soporte", "title": " ", "fields": {"categoria": "inventada"}},
        ),
        422,
        "invalid",
    )
    assert invalid["fields"]["title"] == "Este campo es obligatorio."
    assert invalid["fields"]["categoria"] == "Elija una de las opciones."
    assert invalid["fields"]["descripcion"] == "Este campo es obligatorio."
    assert_error(
        api.post("/tickets", "interno", json={"type": "no-existe", "title": "x"}), 404, "not_found"
    )
    forbidden = api.post(
        "/tickets",
        "interno",
        json={"type": "escalamiento-sge", "title": "x", "fields": {"modulo": "otro"}},
    )
    assert assert_error(forbidden, 403, "forbidden")["message"] == (
        "Su rol no puede abrir tickets de este tipo."
    )
    assert Ticket.select().count() == 0


def test_open_with_a_file_and_download_it(app, api):
    data = {
        "type": "soporte",
        "title": "Con captura",
        "fields": '{"categoria": "incidente", "modulo": "otro", "descripcion": "ver captura"}',
        "adjunto": (io.BytesIO(b"%PDF-1.4 captura"), "captura.pdf", "application/pdf"),
    }
    response = api.post("/tickets", "interno", data=data, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    stored = body["fields"]["adjunto"]
    assert stored["filename"] == "captura.pdf"
    download = api.get(f"/tickets/{body['id']}/attachments/{stored['attachment_id']}", "interno")
    assert download.status_code == 200
    assert download.data == b"%PDF-1.4 captura"
    assert (
        api.get(
            f"/tickets/{body['id']}/attachments/{stored['attachment_id']}", "focal_b"
        ).status_code
        == 404
    )


def test_list_filters(app, api):
    a1 = make_ticket(user("interno"))
    a2 = make_ticket(user("focal"))
    services.transition(user("focal"), a2.id, "atender")
    escalation = make_ticket(
        user("focal"), "escalamiento-sge", fields={"modulo": "otro", "descripcion": "x"}
    )
    make_ticket(user("interno_b"))

    def ids(query, key="focal"):
        response = api.get(f"/tickets{query}", key)
        assert response.status_code == 200, response.get_json()
        return [t["id"] for t in response.get_json()["items"]]

    assert set(ids("")) == {a1.id, a2.id, escalation.id}
    assert set(ids("?queue=1")) == {a1.id, a2.id}
    assert ids("?queue=2") == [escalation.id]
    assert ids("?queue=2", "agq") == [escalation.id]
    assert ids("?state=en_atencion") == [a2.id]
    assert ids("?type=escalamiento-sge") == [escalation.id]
    institution_a = user("focal").institution_id
    institution_b = user("focal_b").institution_id
    assert set(ids(f"?institution={institution_a}")) == {a1.id, a2.id, escalation.id}
    assert ids(f"?institution={institution_b}") == []  # a filter never widens visibility

    Ticket.update(updated_at=dt.datetime(2020, 1, 1)).where(Ticket.id == a1.id).execute()
    assert a1.id not in ids("?updated_since=2021-01-01T00:00:00Z")
    assert a1.id in ids("?updated_since=2019-12-31T18:00:00-05:00")  # 23:00 UTC
    assert a1.id not in ids("?updated_since=2019-12-31T20:00:00-05:00")  # 01:00 UTC
    assert_error(api.get("/tickets?updated_since=ayer"), 400, "bad_request")
    assert_error(api.get("/tickets?queue=3"), 400, "bad_request")
    assert_error(api.get("/tickets?colour=red"), 400, "bad_request")


def test_cursor_pages_through_everything_once_at_a_constant_query_count(app, api):
    opened = [make_ticket(user("interno")) for _ in range(7)]
    Ticket.update(updated_at=dt.datetime(2024, 5, 1, 12, 0)).where(
        Ticket.id.in_([t.id for t in opened[:4]])
    ).execute()  # ties on updated_at: the id breaks them
    api.get("/tickets", "focal")  # the token's first use is recorded once, not per page

    seen, costs, cursor = [], [], None
    while True:
        path = "/tickets?limit=3" + (f"&cursor={cursor}" if cursor else "")
        with count_queries() as statements:
            response = api.get(path, "focal")
        body = response.get_json()
        seen += [t["id"] for t in body["items"]]
        costs.append(len(statements))
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(t.id for t in opened) and len(seen) == len(set(seen))
    assert len(costs) == 3
    with count_queries() as statements:
        api.get("/tickets?limit=100", "focal")
    assert len(set(costs + [len(statements)])) == 1, costs  # same cost for 1, 3 or 7 rows
    assert costs[0] <= 3  # token lookup and the page itself
    assert_error(api.get("/tickets?cursor=garbage"), 400, "bad_request")


def test_detail_shows_internal_notes_only_to_support_staff(app, api):
    ticket = make_ticket(user("interno"))
    services.add_comment(user("focal"), ticket.id, "Respuesta pública")
    services.add_comment(user("focal"), ticket.id, "Nota para el equipo", internal=True)

    staff = api.get(f"/tickets/{ticket.id}", "aiq").get_json()
    assert [c["body"] for c in staff["comments"]] == ["Respuesta pública", "Nota para el equipo"]
    assert staff["comments"][1]["internal"] is True
    assert staff["comments"][1]["author"]["name"] == user("focal").full_name
    assert len(staff["history"]) == 3

    requester = api.get(f"/tickets/{ticket.id}", "interno").get_json()
    assert [c["body"] for c in requester["comments"]] == ["Respuesta pública"]
    assert len(requester["history"]) == 2  # the internal note's event is not shown either
    assert requester["version"] == Ticket.get_by_id(ticket.id).version
    by_name = {t["name"]: t for t in staff["transitions"]}
    assert by_name["atender"]["allowed"] is True
    assert {t["name"]: t for t in requester["transitions"]}["atender"]["allowed"] is False


def test_patch_fields_with_the_version_read(app, api):
    ticket = make_ticket(user("interno"))
    read = api.get(f"/tickets/{ticket.id}", "interno").get_json()
    changed = api.patch(
        f"/tickets/{ticket.id}",
        "interno",
        json={
            "fields": {"modulo": "reportes"},
            "title": "Nuevo título",
            "version": read["version"],
        },
    )
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["fields"]["modulo"] == "reportes"
    assert changed.get_json()["title"] == "Nuevo título"
    assert changed.get_json()["version"] == read["version"] + 1

    stale = api.patch(
        f"/tickets/{ticket.id}",
        "interno",
        json={"fields": {"modulo": "otro"}, "version": read["version"]},
    )
    assert assert_error(stale, 409, "stale_version")["message"].startswith("Otra persona modificó")
    assert Ticket.get_by_id(ticket.id).fields["modulo"] == "reportes"

    invalid = api.patch(
        f"/tickets/{ticket.id}",
        "interno",
        json={"fields": {"modulo": "nada"}, "version": read["version"] + 1},
    )
    assert assert_error(invalid, 422, "invalid")["fields"] == {
        "modulo": "Elija una de las opciones."
    }
    too_long = api.patch(
        f"/tickets/{ticket.id}",
        "interno",
        json={"title": "x" * 300, "version": read["version"] + 1},
    )
    assert "title" in assert_error(too_long, 422, "invalid")["fields"]


def test_checklist_item(app, api):
    escalation = make_ticket(
        user("focal"), "escalamiento-sge", fields={"modulo": "otro", "descripcion": "x"}
    )
    done = api.post(
        f"/tickets/{escalation.id}/checklist/reprodujo", json={"done": True, "comment": "Sí"}
    )
    assert done.status_code == 200, done.get_json()
    item = {i["key"]: i for i in done.get_json()["checklist"]}["reprodujo"]
    assert item["done"] is True and item["by"]["id"] == user("focal").id
    assert item["comment"] == "Sí"
    assert_error(api.post(f"/tickets/{escalation.id}/checklist/nada", json={"done": True}), 404)
    assert_error(
        api.post(f"/tickets/{escalation.id}/checklist/reprodujo", "agq", json={"done": False}),
        403,
        "forbidden",
    )
    assert Ticket.get_by_id(escalation.id).checklist["reprodujo"]["done"] is True


def test_transitions(app, api):
    ticket = make_ticket(user("interno"))
    taken = api.post(f"/tickets/{ticket.id}/transitions", json={"name": "atender"})
    assert taken.status_code == 200, taken.get_json()
    assert taken.get_json()["state"] == "en_atencion"
    gone = api.post(f"/tickets/{ticket.id}/transitions", json={"name": "atender"})
    assert assert_error(gone, 409, "conflict")["message"] == (
        "Esa acción ya no está disponible en el estado actual."
    )
    guarded = api.post(f"/tickets/{ticket.id}/transitions", json={"name": "resolver"})
    assert assert_error(guarded, 409, "guard_failed")["message"] == (
        "Esta acción requiere un comentario."
    )
    resolved = api.post(
        f"/tickets/{ticket.id}/transitions",
        json={"name": "resolver", "comment": "Reinstale el certificado."},
    )
    assert resolved.get_json()["state_category"] == "done"
    assert resolved.get_json()["comments"][-1]["body"] == "Reinstale el certificado."


def test_escalation_appears_linked_and_in_sge_queue(app, api):
    ticket = make_ticket(user("interno"))
    response = api.post(
        f"/tickets/{ticket.id}/transitions", json={"name": "escalar", "comment": "No sabemos."}
    )
    assert response.status_code == 200, response.get_json()
    linked = response.get_json()["linked"]
    assert [link["relation"] for link in linked] == ["child"]
    sge = api.get("/tickets", "agq").get_json()["items"]
    assert [t["id"] for t in sge] == [linked[0]["id"]]


def test_comments_json_and_multipart(app, api):
    ticket = make_ticket(user("interno"))
    public = api.post(f"/tickets/{ticket.id}/comments", "interno", json={"body": "¿Novedades?"})
    assert public.status_code == 201
    assert public.get_json()["body"] == "¿Novedades?"
    assert Comment.get_by_id(public.get_json()["id"]).source == "api"

    note = api.post(
        f"/tickets/{ticket.id}/comments",
        "focal",
        data={
            "body": "Ver registro",
            "internal": "true",
            "files": [
                (io.BytesIO(b"log"), "registro.txt"),
                (io.BytesIO(b"\x89PNG\r\n\x1a\npng"), "a.png"),
            ],
        },
        content_type="multipart/form-data",
    )
    assert note.status_code == 201, note.get_json()
    body = note.get_json()
    assert body["internal"] is True
    assert sorted(a["filename"] for a in body["attachments"]) == ["a.png", "registro.txt"]
    assert Attachment.select().where(Attachment.internal == True).count() == 2
    requester_view = api.get(f"/tickets/{ticket.id}", "interno").get_json()
    assert requester_view["attachments"] == []

    refused = api.post(
        f"/tickets/{ticket.id}/comments", "interno", json={"body": "x", "internal": True}
    )
    assert_error(refused, 403, "forbidden")
    assert_error(api.post(f"/tickets/{ticket.id}/comments", "interno", json={}), 422, "invalid")


def test_assign(app, api):
    ticket = make_ticket(user("interno"))
    response = api.put(f"/tickets/{ticket.id}/assignee", json={"assignee": user("aiq").id})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["assignee"]["id"] == user("aiq").id
    wrong = api.put(f"/tickets/{ticket.id}/assignee", json={"assignee": user("interno").id})
    assert "assignee" in assert_error(wrong, 422, "invalid")["fields"]
    assert_error(api.put(f"/tickets/{ticket.id}/assignee", "interno", json={"assignee": None}), 403)
    cleared = api.put(f"/tickets/{ticket.id}/assignee", json={"assignee": None})
    assert cleared.get_json()["assignee"] is None
    assert TicketEvent.select().where(TicketEvent.kind == "assigned").count() == 2


def test_institution_with_its_stage_history(app, api):
    a = Institution.get(Institution.sigla == "INSTA")
    b = Institution.get(Institution.sigla == "INSTB")
    services.set_stage(a.id, "paso_produccion")
    assert_error(api.get(f"/institutions/{a.id}", "interno"), 404, "not_found")  # as in the UI
    body = api.get(f"/institutions/{a.id}", "focal").get_json()
    assert body["sigla"] == "INSTA" and body["ruc"] == "1760000230001"
    assert [s["stage"] for s in body["stage_history"]] == ["produccion", "paso_produccion"]
    assert body["stage"] == "paso_produccion" and body["stage_label"] == "Paso a producción"
    assert_error(api.get(f"/institutions/{b.id}", "focal"), 404, "not_found")
    assert api.get(f"/institutions/{b.id}", "agq").get_json()["sigla"] == "INSTB"


def test_openapi_describes_every_route_of_the_blueprint(app, api):
    spec = api.get("/openapi.json", key=None).get_json()
    assert spec["openapi"].startswith("3.0")
    documented = {
        (method.upper(), "/api/v1" + path.replace("{", "<").replace("}", ">"))
        for path, item in spec["paths"].items()
        for method in item
        if method != "parameters"
    }
    routed = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = rule.rule.replace("<int:", "<")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routed.add((method, path))
    assert documented == routed
    error = spec["components"]["schemas"]["Error"]
    assert error["required"] == ["error", "message", "fields"]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters" and path != "/openapi.json":
                assert "401" in operation["responses"], (method, path)
