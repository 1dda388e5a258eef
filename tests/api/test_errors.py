"""Every refusal is JSON of one shape, with the status the issue names; bad input never 500s."""

import base64
import io
import json

from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from tests.api.conftest import assert_error
from tests.conftest import make_ticket, user
from ticketing.models import Attachment, Comment, Ticket, TicketType

SUPPORT = {"categoria": "consulta", "modulo": "otro", "descripcion": "¿Cómo firmo?"}


def test_malformed_bodies_are_400(app, api):
    ticket = make_ticket()
    path = f"/tickets/{ticket.id}/comments"
    for body in (b"{", b"[]", b'"text"', b"null", b"\xff\xfe", b""):
        assert_error(api.post(path, data=body, content_type="application/json"), 400)
    wrong_types = assert_error(api.post(path, json={"body": 3, "internal": "yes"}), 400)
    assert set(wrong_types["fields"]) == {"body", "internal"}
    unknown = assert_error(api.post(path, json={"body": "x", "colour": "red"}), 400)
    assert set(unknown["fields"]) == {"colour"}
    missing = assert_error(api.post(f"/tickets/{ticket.id}/transitions", json={}), 400)
    assert set(missing["fields"]) == {"name"}
    assert_error(api.patch(f"/tickets/{ticket.id}", json={"version": -1}), 400)
    assert_error(api.patch(f"/tickets/{ticket.id}", json={"version": True}), 400)
    assert_error(api.patch(f"/tickets/{ticket.id}", json={"version": 2**40}), 400)
    for flag in ("yes", "1", "True", " true"):  # multipart flags are JSON's spelling only
        response = api.post(
            path, data={"body": "x", "internal": flag}, content_type="multipart/form-data"
        )
        assert assert_error(response, 400)["fields"] == {"internal": "Debe ser true o false."}
    assert Comment.select().count() == 0


PATHOLOGICAL_JSON = {
    "deep": '{"body": ' + "[" * 50_000 + "]" * 50_000 + "}",  # deeper than the parser goes
    "nested": '{"type": "soporte", "title": "x", "fields": {"descripcion": '
    + "[" * 200
    + "]" * 200
    + "}}",
    "nan": '{"type": "soporte", "title": "x", "fields": {"descripcion": NaN}}',
    "infinite": '{"type": "soporte", "title": "x", "fields": {"descripcion": 1e999}}',
    "huge-int": '{"type": "soporte", "title": "x", "fields": {"descripcion": ' + "9" * 5000 + "}}",
}


def test_pathological_json_is_a_clean_400_or_422(app, api):
    for name, body in PATHOLOGICAL_JSON.items():
        response = api.post("/tickets", "interno", data=body, content_type="application/json")
        assert response.status_code in (400, 422), (name, response.get_data(as_text=True)[:300])
        assert_error(response, response.status_code)
    data = {"type": "soporte", "title": "x", "fields": "[" * 50_000 + "]" * 50_000}
    response = api.post("/tickets", "interno", data=data, content_type="multipart/form-data")
    assert_error(response, 400, "bad_request")
    assert Ticket.select().count() == 0


FORGED_CURSORS = [
    "garbage",
    "%%%",
    base64.urlsafe_b64encode(b'["2024-05-01T12:00:00", true]').decode(),
    base64.urlsafe_b64encode(b'["2024-05-01T12:00:00", 99999999999]').decode(),
    base64.urlsafe_b64encode(b'["2024-05-01T12:00:00+05:00", 3]').decode(),
    base64.urlsafe_b64encode(b'{"a": 1, "b": 2}').decode(),
    base64.urlsafe_b64encode(b"[null, 1]").decode(),
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    base64.urlsafe_b64encode(b"[" * 50_000).decode(),
]
BAD_QUERIES = [
    {"limit": "0"},
    {"limit": "101"},
    {"limit": "diez"},
    {"limit": "9" * 5000},
    {"limit": "1_0"},
    {"queue": "\uff11"},  # a fullwidth 1: int() reads it, the description does not
    {"institution": "0"},
    {"institution": str(2**31)},
    {"queue": "sge"},
    {"updated_since": "ayer"},
    {"updated_since": "0001-01-01T00:00:00+05:00"},
    {"state": "nuevo\x00"},
    {"colour": "red"},
]


def test_a_forged_cursor_or_a_bad_query_parameter_is_400(app, api):
    make_ticket()
    for cursor in FORGED_CURSORS:
        response = api.get("/tickets", query_string={"cursor": cursor})
        assert set(assert_error(response, 400, "bad_request")["fields"]) == {"cursor"}, cursor
    for query in BAD_QUERIES:
        body = assert_error(api.get("/tickets", query_string=query), 400, "bad_request")
        assert set(body["fields"]) == set(query), query


def test_absent_and_invisible_get_the_same_404(app, api):
    """404 for another institution's ticket is byte for byte the answer for no ticket."""
    theirs = make_ticket(user("interno_b"))
    absent = theirs.id + 1000
    requests = [
        ("GET", "/tickets/{}", None),
        ("PATCH", "/tickets/{}", {"version": 1}),
        ("POST", "/tickets/{}/checklist/reprodujo", {"done": True}),
        ("POST", "/tickets/{}/transitions", {"name": "atender"}),
        ("POST", "/tickets/{}/comments", {"body": "hola"}),
        ("PUT", "/tickets/{}/assignee", {"assignee": None}),
        ("GET", "/tickets/{}/attachments/1", None),
    ]
    for method, path, body in requests:
        invisible = api.call(method, path.format(theirs.id), "focal", json=body)
        missing = api.call(method, path.format(absent), "focal", json=body)
        assert_error(invisible, 404, "not_found")
        assert invisible.get_json() == missing.get_json(), (method, path)
        assert invisible.headers.get("Content-Length") == missing.headers.get("Content-Length")
    assert Ticket.get_by_id(theirs.id).version == theirs.version
    assert Comment.select().count() == 0


def test_forbidden_is_403_only_for_what_the_caller_can_see(app, api):
    ticket = make_ticket(user("interno"))
    refused = api.put(f"/tickets/{ticket.id}/assignee", "interno", json={"assignee": None})
    assert assert_error(refused, 403, "forbidden")["message"] == (
        "Solo quien atiende la cola puede asignar."
    )
    not_theirs = api.put(f"/tickets/{ticket.id}/assignee", "focal_b", json={"assignee": None})
    assert_error(not_theirs, 404, "not_found")


def test_stale_version_and_vanished_transition_are_409(app, api):
    ticket = make_ticket()
    version = api.get(f"/tickets/{ticket.id}").get_json()["version"]
    taken = api.post(
        f"/tickets/{ticket.id}/transitions", json={"name": "atender", "version": version}
    )
    assert taken.status_code == 200
    stale = api.post(
        f"/tickets/{ticket.id}/transitions",
        json={"name": "resolver", "comment": "Listo", "version": version},
    )
    assert_error(stale, 409, "stale_version")
    vanished = api.post(f"/tickets/{ticket.id}/transitions", json={"name": "atender"})
    assert_error(vanished, 409, "conflict")
    assert Ticket.get_by_id(ticket.id).state == "en_atencion"


def _multipart(fields: dict, files: dict[str, tuple[bytes, str]]) -> dict:
    """A multipart body built in memory (the test client spools big ones to a temp file
    it never closes, which `filterwarnings = error` turns into a failure)."""
    values = MultiDict(fields)
    for name, (data, filename) in files.items():
        values.add(name, FileStorage(io.BytesIO(data), filename, content_type="text/plain"))
    boundary, body = encode_multipart(values)
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def test_a_file_or_a_request_over_the_limit_is_413(app, api):
    app.config["MAX_ATTACHMENT_MB"] = 1
    ticket = make_ticket()
    big = b"x" * (1024 * 1024 + 1)
    response = api.post(
        f"/tickets/{ticket.id}/comments",
        **_multipart({"body": "adjunto"}, {"files": (big, "grande.txt")}),
    )
    body = assert_error(response, 413, "too_large")
    assert "1 MB" in body["message"]
    assert Comment.select().count() == 0 and Attachment.select().count() == 0

    # a request over the limit is refused before anything reads it
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    response = api.post(f"/tickets/{ticket.id}/comments", json={"body": "x" * 100_000})
    assert_error(response, 413, "too_large")
    response = api.post(
        f"/tickets/{ticket.id}/comments",
        **_multipart({"body": "x"}, {"files": (b"y" * 100_000, "a.txt")}),
    )
    assert_error(response, 413, "too_large")
    assert Comment.select().count() == 0


def test_invalid_values_are_422_with_a_message_per_field(app, api):
    response = api.post(
        "/tickets",
        "interno",
        json={
            "type": "soporte",
            "title": "bien\x00mal",
            "fields": dict(SUPPORT, categoria="otra"),
        },
    )
    body = assert_error(response, 422, "invalid")
    assert set(body["fields"]) == {"title"}  # text no column can hold is refused first
    response = api.post(
        "/tickets",
        "interno",
        json={"type": "soporte", "title": "ok", "fields": dict(SUPPORT, categoria="otra")},
    )
    assert assert_error(response, 422, "invalid")["fields"] == {
        "categoria": "Elija una de las opciones."
    }


def test_unknown_paths_and_methods_answer_json(app, api):
    assert_error(api.get("/nada"), 404, "not_found")
    assert_error(api.get("/nada", key=None), 404, "not_found")
    wrong = api.call("DELETE", f"/tickets/{make_ticket().id}")
    assert_error(wrong, 405, "method_not_allowed")
    assert "PATCH" in wrong.headers["Allow"]
    assert_error(api.get("/tickets/-1"), 404)
    assert_error(api.get(f"/tickets/{2**63}"), 404)


HOSTILE_VALUES = [
    None,
    True,
    0,
    -1,
    2**70,
    1.5,
    "",
    " ",
    "x" * 20_000,
    "\u202e\ud800",
    "<script>",
    [],
    ["a", None],
    {},
    {"attachment_id": 1},
]


def _probe_fields(api, key, slug, field_names):
    statuses = set()
    for name in field_names:
        for value in HOSTILE_VALUES:
            body = {"type": slug, "title": "sonda", "fields": {name: value}}
            response = api.post(
                "/tickets", key, data=json.dumps(body), content_type="application/json"
            )
            assert response.status_code in (201, 400, 403, 409, 422), (slug, name, value)
            assert_error(response, response.status_code) if response.status_code != 201 else None
            statuses.add(response.status_code)
    return statuses


def test_hostile_values_in_every_field_of_every_openable_type(app, api):
    """Every field kind the seed uses, fed wrong JSON types, refuses cleanly."""
    seen_kinds = set()
    for key in ("agq", "aiq", "interno"):
        for item in api.get("/ticket-types", key).get_json()["items"]:
            seen_kinds |= {f["kind"] for f in item["fields"]}
            statuses = _probe_fields(api, key, item["slug"], [f["name"] for f in item["fields"]])
            assert 422 in statuses, item["slug"]
    assert {"text", "choice", "file", "ruc", "cedula", "email", "phone"} <= seen_kinds
    opened = Ticket.select().join(TicketType).where(TicketType.slug == "soporte").count()
    assert opened == 0
