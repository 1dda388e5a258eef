"""The AGQ's institution edit page goes through `update_institution`: its rules (a name is
required, RUC and sigla stay) apply there as on the API."""

from tests.conftest import text_of
from ticketing.models import Institution


def test_the_agq_edits_an_institution_through_the_service(client, auth, app):
    b = Institution.get(Institution.sigla == "INSTB")
    auth.login("agq")
    url = f"/instituciones/edit/?id={b.id}"
    response = client.post(
        url, data={"name": "Institución B (nueva)", "phone": "022", "address": "Quito"}
    )
    assert response.status_code == 302
    b = Institution.get_by_id(b.id)
    assert (b.name, b.phone, b.address, b.sigla) == (
        "Institución B (nueva)",
        "022",
        "Quito",
        "INSTB",
    )
    response = client.post(url, data={"name": "", "phone": "", "address": ""})
    assert response.status_code == 200 and "obligatorio" in text_of(response)
    assert Institution.get_by_id(b.id).name == "Institución B (nueva)"


def test_an_aiq_cannot_edit_her_institution_here(client, auth, app):
    a = Institution.get(Institution.sigla == "INSTA")
    auth.login("aiq")
    response = client.post(f"/instituciones/edit/?id={a.id}", data={"name": "Otra"})
    assert response.status_code in (302, 403, 404)
    assert Institution.get_by_id(a.id).name == "Institución A"
