"""Tokens de API page: each person makes (shown once) and revokes their own tokens."""

import re

from tests.conftest import text_of, user
from ticketing.models import ApiToken


def _made_secret(response) -> str:
    match = re.search(r'value="(mesa_[A-Za-z0-9_\-]+)"', response.get_data(as_text=True))
    assert match, text_of(response)[:2000]
    return match.group(1)


def test_person_makes_a_token_that_is_shown_once_and_works(client, auth, api):
    auth.login("interno")
    page = client.get("/tokens/")
    assert page.status_code == 200
    assert "Aún no tiene tokens." in text_of(page)

    made = client.post("/tokens/create", data={"name": "Mi script"})
    assert made.status_code == 200
    assert made.headers["Cache-Control"] == "no-store"
    secret = _made_secret(made)
    assert "no se volverá a mostrar" in text_of(made)

    again = client.get("/tokens/")
    assert secret not in again.get_data(as_text=True)
    assert "Mi script" in text_of(again) and "Activo" in text_of(again)

    response = api.get("/ticket-types", key=None, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    assert [t["slug"] for t in response.get_json()["items"]] == ["soporte"]


def test_person_revokes_own_token_but_not_someone_elses(client, auth, api):
    auth.login("focal_b")
    other = _made_secret(client.post("/tokens/create", data={"name": "de B"}))
    other_id = ApiToken.get(ApiToken.user == user("focal_b").id).id

    auth.login("focal")
    mine = _made_secret(client.post("/tokens/create", data={"name": "de A"}))
    mine_id = ApiToken.get(ApiToken.user == user("focal").id).id
    assert "de B" not in text_of(client.get("/tokens/"))

    refused = client.post(f"/tokens/{other_id}/revoke", follow_redirects=True)
    assert "Ese token no existe." in text_of(refused)
    assert ApiToken.get_by_id(other_id).revoked_at is None
    assert (
        api.get("/ticket-types", key=None, headers={"Authorization": f"Bearer {other}"}).status_code
        == 200
    )

    assert client.get(f"/tokens/{mine_id}/revoke").status_code == 405  # changes are POST only
    done = client.post(f"/tokens/{mine_id}/revoke", follow_redirects=True)
    assert "Token «de A» revocado." in text_of(done)
    assert "Revocado el" in text_of(done)
    assert (
        api.get("/ticket-types", key=None, headers={"Authorization": f"Bearer {mine}"}).status_code
        == 401
    )


def test_a_too_long_name_is_refused_beside_the_field(client, auth):
    auth.login("focal")
    response = client.post("/tokens/create", data={"name": "x" * 150})
    assert response.status_code == 422
    assert "Máximo 100 caracteres." in text_of(response)
    assert ApiToken.select().count() == 0


def test_the_page_needs_a_session_and_a_csrf_token(app, client, auth):
    assert client.get("/tokens/").status_code == 302  # to the login page
    auth.login("focal")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        assert client.post("/tokens/create", data={"name": "forjado"}).status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert ApiToken.select().count() == 0


def test_the_api_needs_no_csrf_token(app, api):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = api.post(
            "/tickets",
            "interno",
            json={
                "type": "soporte",
                "title": "Desde la API",
                "fields": {"categoria": "consulta", "modulo": "otro", "descripcion": "?"},
            },
        )
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 201, response.get_json()
