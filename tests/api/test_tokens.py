"""Tokens: made by their owner or an operator, stored hashed, acting exactly as the owner."""

import hashlib

import pytest

from tests.api.conftest import assert_error
from tests.conftest import make_ticket, user
from ticketing.api_tokens import create_token, revoke_token, tokens_of
from ticketing.errors import NotFound, ValidationFailed
from ticketing.models import ApiToken, Comment, Ticket, User


def test_token_is_stored_only_as_its_sha256(app):
    row, secret = create_token(user("focal"), name="Quipux")
    stored = ApiToken.get_by_id(row.id)
    assert stored.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (stored.token_hash, stored.name)
    assert stored.user_id == user("focal").id


def test_token_sees_exactly_what_its_owner_sees(app, api):
    mine = make_ticket(user("interno"))
    neighbour = make_ticket(user("focal"))  # same institution, another requester
    other = make_ticket(user("interno_b"))

    def listed(key):
        return {t["id"] for t in api.get("/tickets", key).get_json()["items"]}

    assert listed("interno") == {mine.id}
    assert listed("focal") == {mine.id, neighbour.id}
    assert listed("focal_b") == {other.id}
    assert listed("agq") == set()  # nothing has reached SGE yet
    assert api.get(f"/tickets/{neighbour.id}", "interno").status_code == 404


def test_missing_or_unknown_token_is_401(app, api):
    headers = [None, "", "Bearer", "Bearer ", "Bearer nope", "Basic Zm9jYWw6eA==", "bearer mesa_x"]
    for header in headers:
        sent = {"Authorization": header} if header is not None else {}
        response = api.get("/tickets", key=None, headers=sent)
        assert_error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), header


def test_revoked_token_and_inactive_owner_are_401(app, api):
    ticket = make_ticket()
    row, secret = create_token(user("focal"))
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.get(f"/tickets/{ticket.id}", key=None, headers=headers).status_code == 200

    revoke_token(user("focal"), row.id)  # the very next request, read or write, is refused
    for method, path, body in [
        ("GET", f"/tickets/{ticket.id}", None),
        ("GET", "/tickets", None),
        ("POST", f"/tickets/{ticket.id}/comments", {"body": "tarde"}),
    ]:
        response = api.call(method, path, key=None, headers=headers, json=body)
        assert_error(response, 401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert Comment.select().count() == 0
    assert revoke_token(user("focal"), row.id).revoked_at is not None  # idempotent

    _row, live = create_token(user("focal"))
    User.update(active=False).where(User.id == user("focal").id).execute()
    response = api.get(
        f"/tickets/{ticket.id}", key=None, headers={"Authorization": f"Bearer {live}"}
    )
    assert_error(response, 401)


def test_use_is_recorded(app, api):
    row, secret = create_token(user("interno"))
    assert ApiToken.get_by_id(row.id).last_used_at is None
    api.get("/ticket-types", key=None, headers={"Authorization": f"Bearer {secret}"})
    assert ApiToken.get_by_id(row.id).last_used_at is not None


def test_people_revoke_only_their_own_tokens(app):
    row, _secret = create_token(user("focal"))
    with pytest.raises(NotFound):
        revoke_token(user("focal_b"), row.id)
    assert ApiToken.get_by_id(row.id).revoked_at is None
    revoke_token(user("focal"), row.id)
    assert ApiToken.get_by_id(row.id).revoked_at is not None
    assert [t.id for t in tokens_of(user("focal"))] == [row.id]
    assert list(tokens_of(user("focal_b"))) == []


def test_token_name_is_checked(app):
    with pytest.raises(ValidationFailed) as refused:
        create_token(user("focal"), name="x" * 101)
    assert "name" in refused.value.fields
    assert ApiToken.select().count() == 0


def test_cli_prints_a_working_token_once(app, api):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tokens", "create", "FOCAL@insta.ec", "--name", "integración"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert secret.startswith("mesa_")
    row = ApiToken.get(ApiToken.user == user("focal").id)
    assert row.name == "integración"
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    response = api.get("/ticket-types", key=None, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200

    result = runner.invoke(args=["tokens", "revoke", str(row.id)])
    assert result.exit_code == 0, result.output
    response = api.get("/ticket-types", key=None, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 401


def test_cli_refuses_an_unknown_or_inactive_person(app):
    result = app.test_cli_runner().invoke(args=["tokens", "create", "nadie@insta.ec"])
    assert result.exit_code == 1
    assert "nadie@insta.ec" in result.output
    User.update(active=False).where(User.id == user("focal").id).execute()
    result = app.test_cli_runner().invoke(args=["tokens", "create", "focal@insta.ec"])
    assert result.exit_code == 1
    assert "La cuenta está desactivada." in result.output
    assert ApiToken.select().count() == 0


def test_an_api_call_never_touches_the_browser_session(app, client, auth, api):
    ticket = make_ticket(user("interno_b"))
    auth.login("focal")
    response = api.get(f"/tickets/{ticket.id}", "focal_b")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    page = client.get("/tokens/")
    assert "FOCAL INSTA" in page.get_data(as_text=True)
    assert client.get(f"/ticket/{ticket.id}/").status_code == 404


def test_a_session_cookie_alone_never_reads_or_writes_with_or_without_csrf(app, api, auth):
    """The API reads only the token: a signed-in browser (or a forged cross-site form) is 401."""
    ticket = make_ticket()
    auth.login("focal")
    before = (Ticket.select().count(), Ticket.get_by_id(ticket.id).version)
    for csrf in (False, True):
        app.config["WTF_CSRF_ENABLED"] = csrf
        try:
            responses = [
                api.get(f"/tickets/{ticket.id}", key=None),
                api.post(
                    "/tickets",
                    key=None,
                    json={"type": "soporte", "title": "x", "fields": {}},
                ),
                api.patch(f"/tickets/{ticket.id}", key=None, json={"version": 1, "title": "y"}),
                api.post(f"/tickets/{ticket.id}/transitions", key=None, json={"name": "atender"}),
                api.post(f"/tickets/{ticket.id}/comments", key=None, json={"body": "x"}),
                api.post(
                    f"/tickets/{ticket.id}/comments",
                    key=None,
                    data={"body": "forjado"},
                    content_type="application/x-www-form-urlencoded",
                ),
                api.put(f"/tickets/{ticket.id}/assignee", key=None, json={"assignee": None}),
            ]
        finally:
            app.config["WTF_CSRF_ENABLED"] = False
        for response in responses:
            assert_error(response, 401, "unauthorized")  # never CSRF's 400: not a session
            assert response.headers["WWW-Authenticate"] == 'Bearer realm="mesa"'
    assert (Ticket.select().count(), Ticket.get_by_id(ticket.id).version) == before


def test_a_token_works_beside_a_session_of_someone_else(app, api, auth):
    """A Bearer call from a signed-in browser acts as the token's owner, not the session's."""
    ticket = make_ticket(user("interno"))
    auth.login("focal")
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = api.post(f"/tickets/{ticket.id}/transitions", "interno", json={"name": "atender"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert_error(refused, 403, "forbidden")  # the requester may not take it; focal could
    assert Ticket.get_by_id(ticket.id).state == "nuevo"
