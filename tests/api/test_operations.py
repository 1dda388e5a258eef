"""The operations the UI offers, over the API: checklist in one call, people, tokens, the
plantilla de seguimiento, registering on someone's behalf, /me."""

from tests.api.conftest import assert_error
from tests.conftest import user
from tests.process.helpers import NEW_AIQ_EMAIL, mails_to, next_step, oficio_fields
from ticketing import services
from ticketing.models import (
    ApiToken,
    DefaultTrackingItem,
    Institution,
    Ticket,
    TicketEvent,
    TrackingItem,
    User,
)

COURSES = {
    "bandeja_entrada": "2025-04-07T09:00",
    "bandeja_salida": "2025-04-08T09:00",
    "administracion": "2025-04-09T09:00",
}


def _training_ticket() -> Ticket:
    agq = user("agq")
    solicitud = services.open_ticket(agq, "solicitud-uso", "Oficio MINTUR", oficio_fields())
    services.transition(agq, solicitud.id, "aceptar")
    return next_step(solicitud, "capacitacion-aiq")


def test_three_courses_in_one_call_mail_the_aiq_once(app, api):
    training = _training_ticket()
    items = [{"item": k, "done": False, "scheduled_at": at} for k, at in COURSES.items()]
    response = api.post(f"/tickets/{training.id}/checklist", "agq", json={"items": items})
    assert response.status_code == 200, response.get_data(as_text=True)
    checklist = {c["key"]: c["scheduled_at"] for c in response.get_json()["checklist"]}
    assert checklist == COURSES
    (mail,) = mails_to(NEW_AIQ_EMAIL, "course_dates_set")  # one mail, not three
    assert [c["at"] for c in mail.context["schedule"]] == list(COURSES.values())
    scheduled = TicketEvent.select().where(
        (TicketEvent.ticket == training.id) & (TicketEvent.kind == "scheduled")
    )
    assert sorted(e.data["item"] for e in scheduled) == sorted(COURSES)  # a row per change
    assert Ticket.get_by_id(training.id).version == training.version + 1  # one write


def test_the_batch_is_all_or_none(app, api):
    training = _training_ticket()
    items = [
        {"item": "bandeja_entrada", "done": False, "scheduled_at": "2025-04-07T09:00"},
        {"item": "administracion", "done": False, "scheduled_at": "el lunes"},
    ]
    response = api.post(f"/tickets/{training.id}/checklist", "agq", json={"items": items})
    assert_error(response, 422, "invalid")
    assert not Ticket.get_by_id(training.id).checklist.get("bandeja_entrada")
    assert mails_to(NEW_AIQ_EMAIL, "course_dates_set") == []
    bad = api.post(f"/tickets/{training.id}/checklist", "agq", json={"items": [{"done": True}]})
    assert_error(bad, 400, "bad_request")
    assert "items[0].item" in bad.get_json()["fields"]


def test_one_item_through_the_old_route_still_mails_each_time(app, api):
    training = _training_ticket()
    for key, at in COURSES.items():
        body = {"done": False, "scheduled_at": at}
        assert (
            api.post(f"/tickets/{training.id}/checklist/{key}", "agq", json=body).status_code == 200
        )
    assert len(mails_to(NEW_AIQ_EMAIL, "course_dates_set")) == 3


def test_me(app, api):
    body = api.get("/me", "aiq").get_json()
    assert (body["email"], body["role"]) == (user("aiq").email, "aiq")
    assert "password_hash" not in body and "totp_secret" not in body


def test_people_within_visibility(app, api):
    mine = {p["email"] for p in api.get("/people?limit=100", "aiq").get_json()["items"]}
    assert user("focal").email in mine and user("focal_b").email not in mine
    assert_error(api.get(f"/people/{user('focal_b').id}", "aiq"), 404, "not_found")
    everyone = api.get("/people?limit=100", "agq").get_json()["items"]
    assert {p["email"] for p in everyone} == {u.email for u in User.select()}
    page = api.get("/people?limit=2", "agq").get_json()
    rest = api.get(f"/people?limit=100&after={page['next_after']}", "agq").get_json()
    assert len(page["items"]) + len(rest["items"]) == User.select().count()


def test_the_aiq_adds_edits_invites_and_deactivates_a_person(app, api):
    new = {
        "full_name": "Ana Torres",
        "cedula": "1710000082",
        "email": "ana@insta.ec",
        "role": "interno",
    }
    created = api.post("/people", "aiq", json=new)
    assert created.status_code == 201, created.get_data(as_text=True)
    person = created.get_json()
    assert person["institution"]["id"] == user("aiq").institution_id
    assert len(mails_to("ana@insta.ec", "invitation")) == 1
    again = api.post(f"/people/{person['id']}/invitation", "aiq", json={})
    assert again.status_code == 202
    assert len(mails_to("ana@insta.ec", "invitation")) == 2
    changed = api.patch(f"/people/{person['id']}", "aiq", json={"role": "focal", "cargo": "TI"})
    assert (changed.get_json()["role"], changed.get_json()["cargo"]) == ("focal", "TI")
    off = api.patch(f"/people/{person['id']}", "aiq", json={"active": False})
    assert off.get_json()["active"] is False
    # the service's rules, as in the UI
    assert_error(api.post("/people", "aiq", json=dict(new, role="agq")), 403, "forbidden")
    assert_error(api.post("/people", "focal", json=new), 403, "forbidden")
    assert_error(api.patch(f"/people/{user('aiq_b').id}", "aiq", json={"cargo": "x"}), 404)
    assert_error(api.post(f"/people/{user('focal').id}/invitation", "aiq", json={}), 409)


def test_tokens_list_create_revoke_own(app, api):
    made = api.post("/tokens", "interno", json={"name": "cron"})
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    secret, token_id = made.get_json()["secret"], made.get_json()["id"]
    listed = api.get("/tokens", "interno").get_json()["items"]
    assert token_id in [t["id"] for t in listed]
    assert all(t["secret"] is None for t in listed)
    auth = {"Authorization": f"Bearer {secret}"}
    assert api.get("/me", key=None, headers=auth).status_code == 200
    assert_error(api.call("DELETE", f"/tokens/{token_id}", "focal"), 404)  # not yours
    revoked = api.call("DELETE", f"/tokens/{token_id}", "interno")
    assert revoked.get_json()["revoked_at"] is not None
    assert ApiToken.get_by_id(token_id).revoked_at is not None
    assert api.get("/me", key=None, headers=auth).status_code == 401


def test_the_agq_reviews_the_plantilla_over_the_api(app, api):
    institution = Institution.get(Institution.sigla == "INSTA")
    base = f"/institutions/{institution.id}/tracking"
    added = api.post(base, "agq", json={"label": "Firma electrónica configurada"})
    assert added.status_code == 201, added.get_data(as_text=True)
    item = added.get_json()
    met = api.patch(f"{base}/{item['id']}", "agq", json={"met": True, "note": "Revisado"})
    assert (met.get_json()["met"], met.get_json()["note"]) == (True, "Revisado")
    items = api.get(base, "agq").get_json()["items"]
    assert any(i["id"] == item["id"] and i["met"] for i in items)
    assert_error(api.patch(f"{base}/{item['id']}", "aiq", json={"met": False}), 403)
    other = Institution.get(Institution.sigla == "INSTB")
    assert_error(
        api.patch(f"/institutions/{other.id}/tracking/{item['id']}", "agq", json={"met": False}),
        404,
    )
    assert api.call("DELETE", f"{base}/{item['id']}", "agq").status_code == 204
    assert not TrackingItem.select().where(TrackingItem.id == item["id"]).exists()


def test_the_agq_edits_the_default_plantilla(app, api):
    added = api.post("/tracking-template", "agq", json={"label": "Buzón de soporte creado"})
    assert added.status_code == 201
    item_id = added.get_json()["id"]
    labels = [i["label"] for i in api.get("/tracking-template", "agq").get_json()["items"]]
    assert "Buzón de soporte creado" in labels
    assert_error(api.post("/tracking-template", "aiq", json={"label": "x"}), 403)
    assert api.call("DELETE", f"/tracking-template/{item_id}", "agq").status_code == 204
    assert not DefaultTrackingItem.select().where(DefaultTrackingItem.id == item_id).exists()


def test_institutions_list_within_visibility(app, api):
    mine = api.get("/institutions", "aiq").get_json()["items"]
    assert [i["sigla"] for i in mine] == ["INSTA"]
    assert len(api.get("/institutions", "agq").get_json()["items"]) == Institution.select().count()
    detail = api.get(f"/institutions/{mine[0]['id']}", "aiq").get_json()
    assert detail["stage_history"]


def test_the_agq_registers_a_request_on_someones_behalf(app, api):
    aiq = user("aiq")
    body = {
        "type": "escalamiento-sge",
        "title": "Llegó por correo",
        "fields": {"modulo": "otro", "descripcion": "Por correo"},
        "on_behalf_of": aiq.id,
    }
    response = api.post("/tickets", "agq", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    ticket = Ticket.get_by_id(response.get_json()["id"])
    assert ticket.requester_id == aiq.id and ticket.institution_id == aiq.institution_id
    assert ticket.requester_id != user("agq").id
    assert_error(api.post("/tickets", "aiq", json=body), 403, "forbidden")


def test_an_empty_change_changes_nothing_and_fails_nothing(app, api):
    person = user("focal")
    response = api.patch(f"/people/{person.id}", "agq", json={})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["email"] == person.email
    institution = Institution.get(Institution.sigla == "INSTA")
    same = api.patch(f"/institutions/{institution.id}", "agq", json={})
    assert same.status_code == 200 and same.get_json()["name"] == institution.name


def test_the_agq_corrects_an_institution_the_aiq_may_not(app, api):
    institution = Institution.get(Institution.sigla == "INSTA")
    path = f"/institutions/{institution.id}"
    changed = api.patch(path, "agq", json={"phone": "02 123 4567", "address": "Av. Amazonas"})
    assert (changed.get_json()["phone"], changed.get_json()["address"]) == (
        "02 123 4567",
        "Av. Amazonas",
    )
    assert_error(api.patch(path, "aiq", json={"name": "Otra"}), 403, "forbidden")
    assert_error(api.patch(path, "agq", json={"name": "  "}), 422, "invalid")
    other = Institution.get(Institution.sigla == "INSTB")
    assert_error(api.patch(f"/institutions/{other.id}", "aiq", json={"name": "x"}), 404)
    assert Institution.get_by_id(institution.id).name == institution.name
