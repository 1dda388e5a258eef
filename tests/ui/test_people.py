"""Personas: the AIQ adds internal and focal users to its own institution, the AGQ anyone."""

from tests.conftest import text_of, user
from ticketing.models import Institution, Outbox, User

VALID_CEDULA = "1710000082"


def _person(**overrides):
    data = {
        "full_name": "María Pérez",
        "cedula": VALID_CEDULA,
        "email": "maria.perez@insta.ec",
        "role": "focal",
        "cargo": "Analista",
        "phone": "02 255 1234 ext. 12",
        "mobile": "",
    }
    data.update(overrides)
    return data


def test_aiq_form_offers_internal_and_focal_roles_and_no_institution_choice(client, auth):
    auth.login("aiq")
    page = client.get("/personas/new/")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert '<option value="interno">Usuario interno</option>' in body
    assert '<option value="focal">Usuario focal</option>' in body
    assert 'value="aiq"' not in body and 'value="agq"' not in body
    assert 'name="institution"' not in body
    assert "La persona se agrega a INSTA" in text_of(page)


def test_aiq_adds_a_focal_user_to_its_own_institution_with_an_invitation(client, auth):
    auth.login("aiq")
    response = client.post("/personas/new/", data=_person())
    assert response.status_code == 302, text_of(response)[:1500]
    person = User.get(User.email == "maria.perez@insta.ec")
    assert person.role == "focal"
    assert person.institution.sigla == "INSTA"
    assert person.password_hash is None
    invitation = Outbox.get((Outbox.recipient == person.email) & (Outbox.event == "invitation"))
    assert "/password/" in invitation.context["url"]
    listing = text_of(client.get("/personas/", follow_redirects=True))
    assert "María Pérez" in listing


def test_invalid_cedula_is_refused_with_a_clear_message_beside_the_field(client, auth):
    auth.login("aiq")
    before = User.select().count()
    response = client.post("/personas/new/", data=_person(cedula="1710000083"))
    assert response.status_code == 200
    body = text_of(response)
    assert "La cédula no es válida: revise sus 10 dígitos." in body
    assert 'id="cedula"' in body and "is-invalid" in body
    assert User.select().count() == before


def test_aiq_cannot_create_an_aiq_even_by_forging_the_form(client, auth):
    auth.login("aiq")
    response = client.post("/personas/new/", data=_person(role="aiq"))
    assert response.status_code == 200
    assert "El AIQ solo agrega usuarios internos y focales de su institución." in text_of(response)
    assert not User.select().where(User.email == "maria.perez@insta.ec").exists()


def test_agq_chooses_the_institution(client, auth):
    auth.login("agq")
    b = Institution.get(Institution.sigla == "INSTB")
    page = client.get("/personas/new/").get_data(as_text=True)
    assert 'name="institution"' in page and "INSTB — Institución B" in page
    response = client.post(
        "/personas/new/",
        data=_person(email="maria@instb.ec", role="aiq", institution=str(b.id)),
    )
    assert response.status_code == 302, text_of(response)[:1500]
    person = User.get(User.email == "maria@instb.ec")
    assert (person.institution_id, person.role) == (b.id, "aiq")


def test_agq_must_choose_an_institution(client, auth):
    auth.login("agq")
    response = client.post("/personas/new/", data=_person(institution=""))
    assert response.status_code == 200
    assert "Elija la institución." in text_of(response)


def test_aiq_edits_a_focal_user_but_not_itself(client, auth):
    aiq = auth.login("aiq")
    focal = user("focal")
    listing = client.get("/personas/").get_data(as_text=True)
    assert f"/personas/edit/?id={focal.id}" in listing
    assert f"/personas/edit/?id={aiq.id}" not in listing
    response = client.post(
        f"/personas/edit/?id={focal.id}",
        data=_person(
            full_name=focal.full_name, cedula=focal.cedula, email=focal.email, role="interno"
        ),
    )
    assert response.status_code == 302, text_of(response)[:1500]
    assert User.get_by_id(focal.id).role == "interno"
    refused = client.get(f"/personas/edit/?id={aiq.id}", follow_redirects=True)
    assert "El AIQ solo gestiona usuarios internos y focales" in text_of(refused)


def test_person_details_never_show_the_password_hash(client, auth):
    auth.login("agq")
    focal = user("focal")
    body = client.get(f"/personas/details/?id={focal.id}").get_data(as_text=True)
    assert focal.cedula in body
    assert "scrypt" not in body and "password" not in body.lower()


def test_people_list_filters_by_role(client, auth):
    auth.login("agq")
    body = text_of(client.get("/personas/?rol=focal"))
    assert "FOCAL INSTA" in body and "FOCAL_b INSTB" in body
    assert "INTERNO INSTA" not in body
    assert '<label class="small mb-1" for="flt-rol">Rol</label>' in body
