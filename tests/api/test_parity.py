"""The API and the UI refuse the same things for the same reasons: one rule, two adapters.

Each case makes the same request twice as the same person, once as a browser form post
(signed in) and once over the API (with a token), and checks that both refuse, that the
UI shows the very message the API returns, and that neither changed the ticket.
"""

import html
from dataclasses import dataclass
from typing import Any

from tests.api.conftest import assert_error
from tests.conftest import make_ticket, text_of, user
from ticketing import services
from ticketing.models import Attachment, Comment, Institution, Ticket, TicketEvent

ESCALATION = {"modulo": "otro", "descripcion": "x"}


@dataclass
class Case:
    who: str
    setup: Any  # () -> ticket id
    ui: tuple  # (path under /ticket/<id>, form data) — the form the ticket page posts
    api: tuple  # (method, path under /api/v1/tickets/<id>, json)
    status: int
    code: str


def _support():
    return make_ticket(user("interno")).id


def _taken():
    ticket = make_ticket(user("interno"))
    services.transition(user("focal"), ticket.id, "atender")
    return ticket.id


def _resolved():
    ticket = make_ticket(user("interno"))
    services.transition(user("focal"), ticket.id, "resolver", comment="Hecho.")
    return ticket.id


def _escalation():
    return make_ticket(user("focal"), "escalamiento-sge", fields=ESCALATION).id


def _training():
    """Step 2 of a rollout: its `completar` needs every course ticked (checklist_complete)."""
    from tests.process.helpers import next_step, oficio_fields

    agq = user("agq")
    solicitud = services.open_ticket(agq, "solicitud-uso", "Solicitud", oficio_fields())
    services.transition(agq, solicitud.id, "aceptar")
    return next_step(solicitud, "capacitacion-aiq").id


CASES = {
    "role may not take the transition": Case(
        "interno",
        _support,
        ("transition", {"name": "atender"}),
        ("POST", "/transitions", {"name": "atender"}),
        403,
        "forbidden",
    ),
    "guard: comment required": Case(
        "focal",
        _support,
        ("transition", {"name": "resolver", "comment": ""}),
        ("POST", "/transitions", {"name": "resolver", "comment": ""}),
        409,
        "guard_failed",
    ),
    "guard: checklist complete": Case(
        "agq",
        _training,
        ("transition", {"name": "completar"}),
        ("POST", "/transitions", {"name": "completar"}),
        409,
        "guard_failed",
    ),
    "transition no longer available": Case(
        "focal",
        _taken,
        ("transition", {"name": "atender"}),
        ("POST", "/transitions", {"name": "atender"}),
        409,
        "conflict",
    ),
    "stale version": Case(
        "focal",
        _taken,
        ("transition", {"name": "resolver", "comment": "Listo", "version": "1"}),
        ("POST", "/transitions", {"name": "resolver", "comment": "Listo", "version": 1}),
        409,
        "stale_version",
    ),
    "requester writes an internal note": Case(
        "interno",
        _support,
        ("comment", {"body": "secreto", "internal": "1"}),
        ("POST", "/comments", {"body": "secreto", "internal": True}),
        403,
        "forbidden",
    ),
    "empty comment": Case(
        "focal",
        _support,
        ("comment", {"body": "  "}),
        ("POST", "/comments", {"body": "  "}),
        422,
        "invalid",
    ),
    "checklist item of another role": Case(
        "agq",
        _escalation,
        ("checklist/reprodujo", {"done": "1"}),
        ("POST", "/checklist/reprodujo", {"done": True}),
        403,
        "forbidden",
    ),
    "checklist item not in the list": Case(
        "focal",
        _escalation,
        ("checklist/inventado", {"done": "1"}),
        ("POST", "/checklist/inventado", {"done": True}),
        404,
        "not_found",
    ),
    "requester assigns": Case(
        "interno",
        _support,
        ("assign", {"assignee": "0"}),
        ("PUT", "/assignee", {"assignee": None}),
        403,
        "forbidden",
    ),
    "assignee who does not work the queue": Case(
        "focal",
        _support,
        ("assign", {"assignee": "{interno}"}),
        ("PUT", "/assignee", {"assignee": "{interno}"}),
        422,
        "invalid",
    ),
    "agent edits a closed ticket": Case(
        "focal",
        _resolved,
        (
            "edit",
            {
                "title": "Otro título",
                "f_categoria": "consulta",
                "f_modulo": "otro",
                "f_descripcion": "x",
                "version": "{version}",
            },
        ),
        ("PATCH", "", {"title": "Otro título", "version": "{version}"}),
        409,
        "conflict",
    ),
    "requester edits a closed ticket": Case(
        "interno",
        _resolved,
        (
            "edit",
            {
                "title": "Otro título",
                "f_categoria": "consulta",
                "f_modulo": "otro",
                "f_descripcion": "x",
                "version": "{version}",
            },
        ),
        ("PATCH", "", {"title": "Otro título", "version": "{version}"}),
        403,
        "forbidden",
    ),
}


def _fill(value, ticket_id):
    """Put the ticket's current version or an account's id where a case says so."""
    if isinstance(value, dict):
        return {k: _fill(v, ticket_id) for k, v in value.items()}
    if value == "{version}":
        return Ticket.get_by_id(ticket_id).version
    if value == "{interno}":
        return user("interno").id
    return value


def _snapshot(ticket_id):
    ticket = Ticket.get_by_id(ticket_id)
    return (
        ticket.version,
        ticket.state,
        ticket.title,
        ticket.fields,
        ticket.checklist,
        ticket.assignee_id,
        Comment.select().where(Comment.ticket == ticket_id).count(),
        TicketEvent.select().where(TicketEvent.ticket == ticket_id).count(),
        Attachment.select().where(Attachment.ticket == ticket_id).count(),
    )


def _ui_messages(client, response) -> str:
    """What the person sees after the post: the flashed errors, or the page re-rendered."""
    if response.status_code in (302, 303):
        with client.session_transaction() as session:
            flashes = session.pop("_flashes", [])
        return " | ".join(message for category, message in flashes if category == "error")
    return html.unescape(text_of(response))


def test_ui_and_api_refuse_alike(app, client, auth, api):
    for name, case in CASES.items():
        ticket_id = case.setup()
        before = _snapshot(ticket_id)
        auth.login(case.who)

        method, path, body = case.api
        refused = api.call(
            method, f"/tickets/{ticket_id}{path}", case.who, json=_fill(body, ticket_id)
        )
        message = assert_error(refused, case.status, case.code)["message"]
        assert _snapshot(ticket_id) == before, name

        ui_path, form = case.ui
        response = client.post(f"/ticket/{ticket_id}/{ui_path}", data=_fill(form, ticket_id))
        assert response.status_code in (200, 302, 303), (name, response.status_code)
        shown = _ui_messages(client, response)
        assert message in shown, (name, message, shown[:500])
        assert _snapshot(ticket_id) == before, name


def test_ui_and_api_hide_the_same_tickets_and_institutions(app, client, auth, api):
    """Another institution's ticket and institution: 404 on every page and every endpoint."""
    theirs = make_ticket(user("interno_b"))
    mine = make_ticket(user("interno")).id
    b = Institution.get(Institution.sigla == "INSTB")
    before = _snapshot(theirs.id)
    own_institution = {}
    for who in ("interno", "focal", "aiq"):
        auth.login(who)
        pages = [
            client.get(f"/ticket/{theirs.id}/"),
            client.get(f"/ticket/{theirs.id}/edit"),
            client.post(f"/ticket/{theirs.id}/comment", data={"body": "hola"}),
            client.post(f"/ticket/{theirs.id}/transition", data={"name": "atender"}),
            client.post(f"/ticket/{theirs.id}/checklist/reprodujo", data={"done": "1"}),
            client.post(f"/ticket/{theirs.id}/assign", data={"assignee": ""}),
            client.get(f"/institucion/{b.id}/"),
        ]
        endpoints = [
            api.get(f"/tickets/{theirs.id}", who),
            api.patch(f"/tickets/{theirs.id}", who, json={"version": theirs.version}),
            api.post(f"/tickets/{theirs.id}/comments", who, json={"body": "hola"}),
            api.post(f"/tickets/{theirs.id}/transitions", who, json={"name": "atender"}),
            api.post(f"/tickets/{theirs.id}/checklist/reprodujo", who, json={"done": True}),
            api.put(f"/tickets/{theirs.id}/assignee", who, json={"assignee": None}),
            api.get(f"/institutions/{b.id}", who),
        ]
        assert [p.status_code for p in pages] == [404] * len(pages), who
        for response in endpoints:
            assert_error(response, 404, "not_found")
        # and what they may see, both show
        assert client.get(f"/ticket/{mine}/").status_code == 200, who
        assert api.get(f"/tickets/{mine}", who).status_code == 200, who
        own = user(who).institution_id
        own_institution[who] = (
            client.get(f"/institucion/{own}/").status_code,
            api.get(f"/institutions/{own}", who).status_code,
        )
    assert _snapshot(theirs.id) == before
    differ = {who for who, (in_ui, in_api) in own_institution.items() if in_ui != in_api}
    assert own_institution["focal"] == own_institution["aiq"] == (200, 200)
    assert own_institution["interno"] == (404, 404)  # they follow their own tickets only
    assert not differ, own_institution


def test_ui_and_api_offer_the_same_ticket_types(app, client, auth, api):
    """Nuevo ticket lists exactly what GET /ticket-types lists; the rest is refused by both."""
    from ticketing.models import TicketType

    types = list(TicketType.select())  # each request closes the connection: read them first
    for who in ("interno", "focal", "aiq", "agq"):
        auth.login(who)
        offered = {t["slug"] for t in api.get("/ticket-types", who).get_json()["items"]}
        assert offered == {t.slug for t in services.openable_types(user(who))}, who
        page = client.get("/nuevo/").get_data(as_text=True)
        for ticket_type in types:
            in_ui = f"/nuevo/{ticket_type.slug}/" in page
            assert in_ui == (ticket_type.slug in offered), (who, ticket_type.slug)
            if ticket_type.slug in offered:
                continue
            assert client.get(f"/nuevo/{ticket_type.slug}/").status_code == 404
            fields = VALID_FIELDS.get(ticket_type.slug, {})
            refused = api.post(
                "/tickets", who, json={"type": ticket_type.slug, "title": "x", "fields": fields}
            )
            if who not in (ticket_type.open_roles or []):
                assert_error(refused, 403, "forbidden")
            else:  # the role may open it, the institution's stage may not (yet)
                stage = services.stage_refusal(ticket_type.on_open, user(who).institution)
                assert stage and assert_error(refused, 409, "conflict")["message"] == stage
        assert offered, who  # every role may open something: the comparison is not vacuous
    assert Ticket.select().count() == 0  # nothing was opened by the refusals


# valid fields of the types a demo role may open but that its institution's stage refuses
VALID_FIELDS = {"paso-produccion": {"resumen": "Parametrizado y capacitados los focales."}}


def test_ui_and_api_refuse_a_course_date_that_is_not_a_date(app, client, auth, api):
    ticket_id = _training()
    auth.login("agq")
    refused = api.post(
        f"/tickets/{ticket_id}/checklist/bandeja_entrada",
        "agq",
        json={"done": False, "scheduled_at": "mañana"},
    )
    message = assert_error(refused, 422, "invalid")["fields"]["scheduled_at"]
    response = client.post(
        f"/ticket/{ticket_id}/checklist/bandeja_entrada", data={"scheduled_at": "mañana"}
    )
    assert "scheduled_at" not in (
        Ticket.get_by_id(ticket_id).checklist.get("bandeja_entrada") or {}
    )
    assert message in _ui_messages(client, response)
