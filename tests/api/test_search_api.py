"""GET /api/v1/search and GET /api/v1/tickets?q=: the search service through the API."""

from tests.api.conftest import assert_error
from tests.conftest import make_ticket, user
from ticketing import services


def _world():
    plain = {"descripcion": "Sucede desde ayer."}
    mine = make_ticket(user("interno"), title="Certificado caducado en la bandeja", fields=plain)
    services.add_comment(user("focal"), mine.id, "Se renovó el certificado firmando de nuevo")
    services.add_comment(user("focal"), mine.id, "Revisar token criptográfico", internal=True)
    other = make_ticket(user("interno"), title="No llega el correo de notificación", fields=plain)
    theirs = make_ticket(user("interno_b"), title="Certificado caducado de B", fields=plain)
    return mine, other, theirs


def test_search_finds_stemmed_words_with_snippets_only_within_reach(app, api):
    mine, other, theirs = _world()
    body = api.get("/search?q=firmé", "focal").get_json()
    assert [t["id"] for t in body["tickets"]] == [mine.id]
    assert "<mark>firmando</mark>" in body["tickets"][0]["snippet"]
    assert body["total"] == 1 and body["total_capped"] is False
    body = api.get("/search?q=CERTIFICADO", "focal").get_json()
    assert {t["id"] for t in body["tickets"]} == {mine.id}
    assert theirs.id not in {
        t["id"] for t in api.get("/search?q=caducado", "agq").get_json()["tickets"]
    }
    # the internal note: staff only, never the requester
    assert [t["id"] for t in api.get("/search?q=criptográfico", "focal").get_json()["tickets"]] == [
        mine.id
    ]
    assert api.get("/search?q=criptografico", "interno").get_json()["tickets"] == []


def test_list_q_filters_the_keyset_list_and_keeps_its_order(app, api):
    mine, other, theirs = _world()
    body = api.get("/tickets?q=caducado", "focal").get_json()
    assert [t["id"] for t in body["items"]] == [mine.id]
    body = api.get('/tickets?q="certificado caducado" -correo', "focal_b").get_json()
    assert [t["id"] for t in body["items"]] == [theirs.id]
    assert_error(api.get("/tickets?q=de la", "focal"), 400, "bad_request")


def test_search_refuses_bad_parameters_in_the_error_shape(app, api):
    assert_error(api.get("/search?q=x&color=red", "focal"), 400)
    assert_error(api.get("/search?q=caducado&desde=ayer", "focal"), 400)
    assert_error(api.get("/search?q=", "focal"), 400)
    assert api.get("/search?q=caducado").status_code == 200
    assert api.get("/search?q=caducado", key=None).status_code == 401
