"""The AGQ's webhook pages: endpoints, their secret, deliveries and "Enviar de nuevo"."""

import pytest

from tests.conftest import make_ticket, user
from tests.webhooks.conftest import Receiver
from ticketing import services
from ticketing.models import Ticket, WebhookDelivery, WebhookEndpoint
from ticketing.services.webhooks import create_endpoint

pytestmark = pytest.mark.config(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_TIMEOUT=2)

PAGES = ["/webhooks/", "/webhooks/new/", "/entregas-webhooks/"]


def sge_ticket():
    ticket = make_ticket(user("interno"))
    services.transition(user("aiq"), ticket.id, "escalar", comment="Lo revisa SGE.")
    return Ticket.get(Ticket.parent == ticket.id)


@pytest.mark.parametrize("role", ["interno", "focal", "aiq", "focal_b", "aiq_b"])
def test_only_the_agq_reaches_the_webhook_pages(app, client, auth, role):
    endpoint = create_endpoint(user("agq"), url="https://sge.gob.ec/hooks")
    auth.login(role)
    for page in PAGES + [f"/webhooks/details/?id={endpoint.id}"]:
        assert client.get(page).status_code == 404, page
    response = client.post("/webhooks/rotate/", data={"id": endpoint.id})
    assert response.status_code == 404
    response = client.post("/webhooks/new/", data={"url": "https://intruso.example/"})
    assert response.status_code == 404
    assert WebhookEndpoint.select().count() == 1
    assert WebhookEndpoint.get().secret == endpoint.secret


def test_anonymous_is_sent_to_sign_in(app, client):
    for page in PAGES:
        response = client.get(page)
        assert response.status_code == 302 and "/login" in response.location


def test_the_agq_registers_an_endpoint_and_reads_its_secret(app, client, auth):
    auth.login("agq")
    assert client.get("/webhooks/new/").status_code == 200
    response = client.post(
        "/webhooks/new/",
        data={"url": "http://intruso.example/hooks", "description": "x", "active": "y"},
    )
    assert "Por http solo se admite" in response.get_data(as_text=True)
    assert WebhookEndpoint.select().count() == 0
    response = client.post(
        "/webhooks/new/",
        data={
            "url": "https://sistemas.sge.gob.ec/mesa",
            "description": "Tablero de SGE",
            "events": ["comment_public", "ticket_opened_queue"],
            "active": "y",
        },
    )
    assert response.status_code == 302
    endpoint = WebhookEndpoint.get()
    assert endpoint.events == ["comment_public", "ticket_opened_queue"]
    assert endpoint.created_by_id == user("agq").id
    listing = client.get("/webhooks/").get_data(as_text=True)
    assert "Tablero de SGE" in listing and endpoint.secret not in listing
    details = client.get(f"/webhooks/details/?id={endpoint.id}")
    assert endpoint.secret in details.get_data(as_text=True)
    assert details.headers["Cache-Control"] == "no-store"
    old = endpoint.secret
    client.post("/webhooks/rotate/", data={"id": endpoint.id})
    assert WebhookEndpoint.get().secret != old
    # turned off from its edit form
    response = client.post(
        f"/webhooks/edit/?id={endpoint.id}",
        data={"url": endpoint.url, "description": "Tablero de SGE", "events": []},
    )
    assert response.status_code == 302
    endpoint = WebhookEndpoint.get()
    assert endpoint.active is False and endpoint.events == []


def test_deliveries_show_the_status_never_the_answer_and_send_again(app, client, auth):
    receiver = Receiver().start()
    try:
        endpoint = create_endpoint(user("agq"), url=receiver.url, events=["ticket_opened_queue"])
        receiver.secret = endpoint.secret
        receiver.answer = (500, {})
        receiver.answer_body = b"RESPUESTA-INTERNA del receptor"
        app.config["WEBHOOK_MAX_ATTEMPTS"] = 1
        sge_ticket()
        delivery = WebhookDelivery.get()
        assert (delivery.status, delivery.last_error) == ("failed", "HTTP 500")
        auth.login("agq")
        for page in ("/entregas-webhooks/", f"/entregas-webhooks/details/?id={delivery.id}"):
            text = client.get(page).get_data(as_text=True)
            assert "HTTP 500" in text and "RESPUESTA-INTERNA" not in text
        receiver.answer = (204, {})
        response = client.post("/entregas-webhooks/send-again/", data={"id": delivery.id})
        assert response.status_code == 302
        delivery = WebhookDelivery.get_by_id(delivery.id)
        assert (delivery.status, delivery.attempts) == ("sent", 1)
        # the bulk action too; the event keeps its id, so the receiver can tell it is the same
        response = client.post(
            "/entregas-webhooks/action/", data={"action": "send_again", "rowid": [delivery.id]}
        )
        assert response.status_code == 302
        # answered 500, sent again, sent again: always the same event id
        assert receiver.events == [delivery.event_id] * 3
    finally:
        receiver.stop()


@pytest.mark.parametrize("role", ["interno", "focal", "aiq"])
def test_others_cannot_send_a_delivery_again(app, client, auth, role):
    endpoint = create_endpoint(user("agq"), url="https://sge.gob.ec/hooks")
    app.config["WEBHOOK_ALLOW_HTTP"] = False
    sge_ticket()
    delivery = WebhookDelivery.get()
    WebhookDelivery.update(status="failed").execute()
    auth.login(role)
    assert (
        client.post("/entregas-webhooks/send-again/", data={"id": delivery.id}).status_code == 404
    )
    response = client.post(
        "/entregas-webhooks/action/", data={"action": "send_again", "rowid": [delivery.id]}
    )
    assert response.status_code == 404
    assert WebhookDelivery.get_by_id(delivery.id).status == "failed"
    assert endpoint.id
