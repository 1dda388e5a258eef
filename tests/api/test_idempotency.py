"""Idempotency-Key on creating POSTs: a retry after a lost answer replays it, once."""

import datetime as dt
import uuid

from tests.api.conftest import assert_error
from ticketing.models import ApiToken, Comment, IdempotencyKey, Outbox, Ticket

SUPPORT = {
    "type": "soporte",
    "title": "No abre la bandeja",
    "fields": {"categoria": "consulta", "modulo": "reportes", "descripcion": "Nada abre."},
}


def test_a_retry_after_a_503_returns_the_same_ticket_and_opens_one(app, api):
    """The first attempt commits, but the client sees a 503 (a proxy gave up on it); the
    retry with the same key answers the ticket the first one opened, and runs nothing."""
    lost = []

    @app.after_request
    def proxy_times_out(response):
        if not lost and response.status_code == 201:
            lost.append(response.get_json())
            response = app.response_class('{"error": "unavailable"}', status=503)
        return response

    key = str(uuid.uuid4())
    headers = {"Idempotency-Key": key}
    first = api.post("/tickets", "interno", json=SUPPORT, headers=headers)
    assert first.status_code == 503  # what the client saw; the ticket was committed
    before = Ticket.select().count()
    mails = Outbox.select().count()

    second = api.post("/tickets", "interno", json=SUPPORT, headers=headers)
    assert second.status_code == 201, second.get_data(as_text=True)
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.get_json()["id"] == lost[0]["id"]
    assert second.headers["Location"].endswith(f"/api/v1/tickets/{lost[0]['id']}")
    assert second.headers["ETag"] == f'W/"{lost[0]["version"]}"'
    assert Ticket.select().count() == before  # one ticket, not two
    assert Outbox.select().count() == mails  # and nobody told twice
    assert Ticket.select().where(Ticket.title == SUPPORT["title"]).count() == 1


def test_without_a_key_each_post_opens_its_own_ticket(app, api):
    api.post("/tickets", "interno", json=SUPPORT)
    api.post("/tickets", "interno", json=SUPPORT)
    assert Ticket.select().where(Ticket.title == SUPPORT["title"]).count() == 2


def test_the_same_key_with_another_body_is_refused(app, api):
    headers = {"Idempotency-Key": "k-1"}
    assert api.post("/tickets", "interno", json=SUPPORT, headers=headers).status_code == 201
    other = dict(SUPPORT, title="Otro título")
    body = assert_error(
        api.post("/tickets", "interno", json=other, headers=headers), 422, "idempotency_key_reused"
    )
    assert "Idempotency-Key" in body["fields"]
    # nor on another operation
    ticket_id = Ticket.get(Ticket.title == SUPPORT["title"]).id
    assert_error(
        api.post(f"/tickets/{ticket_id}/comments", "interno", json={"body": "x"}, headers=headers),
        422,
        "idempotency_key_reused",
    )
    assert Ticket.select().where(Ticket.title == "Otro título").count() == 0


def test_keys_belong_to_one_token(app, api):
    """Another person (another token) with the same key is a request of its own."""
    headers = {"Idempotency-Key": "shared-key"}
    a = api.post("/tickets", "interno", json=SUPPORT, headers=headers)
    b = api.post("/tickets", "focal", json=SUPPORT, headers=headers)
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.get_json()["id"] != b.get_json()["id"]
    assert "Idempotent-Replayed" not in b.headers


def test_a_refusal_is_not_kept_and_the_retry_is_judged_afresh(app, api):
    headers = {"Idempotency-Key": "try-again"}
    bad = dict(SUPPORT, fields={"categoria": "consulta"})
    assert_error(api.post("/tickets", "interno", json=bad, headers=headers), 422, "invalid")
    assert IdempotencyKey.select().count() == 0
    again = api.post("/tickets", "interno", json=bad, headers=headers)
    assert again.status_code == 422 and "Idempotent-Replayed" not in again.headers


def test_a_comment_retried_is_written_once(app, api):
    opened = api.post("/tickets", "interno", json=SUPPORT).get_json()
    headers = {"Idempotency-Key": "c-1"}
    path = f"/tickets/{opened['id']}/comments"
    first = api.post(path, "interno", json={"body": "¿Novedades?"}, headers=headers)
    second = api.post(path, "interno", json={"body": "¿Novedades?"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json() == second.get_json()
    assert Comment.select().where(Comment.ticket == opened["id"]).count() == 1


def test_an_expired_key_is_forgotten(app, api):
    headers = {"Idempotency-Key": "short-lived"}
    api.post("/tickets", "interno", json=SUPPORT, headers=headers)
    IdempotencyKey.update(created_at=dt.datetime(2000, 1, 1)).execute()
    again = api.post("/tickets", "interno", json=SUPPORT, headers=headers)
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert Ticket.select().where(Ticket.title == SUPPORT["title"]).count() == 2


def test_a_malformed_key_is_a_400(app, api):
    for key in ["", "x" * 256, "con espacio"]:
        response = api.post("/tickets", "interno", json=SUPPORT, headers={"Idempotency-Key": key})
        assert_error(response, 400, "bad_request")
    assert Ticket.select().where(Ticket.title == SUPPORT["title"]).count() == 0


def test_a_token_replayed_never_shows_its_secret_again(app, api):
    headers = {"Idempotency-Key": "token-1"}
    first = api.post("/tokens", "interno", json={"name": "script"}, headers=headers)
    second = api.post("/tokens", "interno", json={"name": "script"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.get_json()["secret"].startswith("mesa_")
    assert second.get_json()["secret"] is None
    assert second.get_json()["id"] == first.get_json()["id"]
    assert ApiToken.select().where(ApiToken.name == "script").count() == 1
    stored = IdempotencyKey.get(IdempotencyKey.key == "token-1")
    assert first.get_json()["secret"] not in stored.body


def test_a_concurrent_request_that_committed_the_key_first_wins(app, api, monkeypatch):
    """Two requests with one key at once: the one that commits second loses its change
    with its key (one transaction) and answers what the first one stored."""
    import threading

    import pytest

    from api import idempotency
    from ticketing import services
    from ticketing.db import db
    from ticketing.models import ApiToken

    if app.config["DB_KIND"] != "postgres":
        pytest.skip("two connections writing at once: PostgreSQL")
    real = services.open_ticket
    token = api.token("interno")

    def racing(*args, **kwargs):
        ticket = real(*args, **kwargs)
        fingerprint = idempotency._fingerprint()

        def other_process():  # its own connection: commits while this request's is open
            with db.connection_context():
                IdempotencyKey.create(
                    token=ApiToken.get(ApiToken.token_hash == idempotency.digest(token)).id,
                    key="racing",
                    fingerprint=fingerprint,
                    status=201,
                    body='{"id": 424242}',
                    headers="{}",
                )

        thread = threading.Thread(target=other_process)
        thread.start()
        thread.join()
        return ticket

    monkeypatch.setattr(services, "open_ticket", racing)
    response = api.post("/tickets", "interno", json=SUPPORT, headers={"Idempotency-Key": "racing"})
    assert response.status_code == 201
    assert response.get_json() == {"id": 424242}  # the first one's answer
    assert response.headers["Idempotent-Replayed"] == "true"
    assert Ticket.select().where(Ticket.title == SUPPORT["title"]).count() == 0  # rolled back
