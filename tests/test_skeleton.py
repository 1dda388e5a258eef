"""The walking skeleton: sign in, raise a ticket, it lands in the right queue."""

from tests.conftest import make_ticket, text_of, user
from ticketing.models import Ticket, TicketEvent


def test_login_page_is_spanish_first(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "Iniciar sesión" in response.get_data(as_text=True)


def test_pages_require_login(client):
    response = client.get("/cola/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_wrong_password_is_refused(client):
    response = client.post("/login", data={"email": "interno@insta.ec", "password": "nope"})
    assert response.status_code == 401
    assert "incorrectos" in response.get_data(as_text=True)


def test_open_redirect_is_refused(client, auth):
    account = user("interno")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.post(
            "/login",
            data={"email": account.email, "password": "correct horse battery", "next": target},
        )
        assert response.status_code == 302
        assert "evil" not in response.headers["Location"]
        client.post("/logout")


def test_internal_user_raises_ticket_that_focal_user_sees(client, auth):
    auth.login("interno")
    response = client.post(
        "/nuevo/soporte/",
        data={
            "title": "No llega mi documento",
            "f_categoria": "incidente",
            "f_modulo": "bandeja_entrada",
            "f_descripcion": "El oficio enviado no aparece en la bandeja del destinatario.",
        },
    )
    assert response.status_code == 302, text_of(response)[:2000]
    ticket = Ticket.get(Ticket.title == "No llega mi documento")
    assert ticket.queue.institution.sigla == "INSTA"
    assert ticket.queue_level == 1
    assert TicketEvent.select().where(TicketEvent.ticket == ticket).count() == 1

    assert "No llega mi documento" in text_of(client.get("/mis-tickets/"))
    auth.login("focal")
    assert "No llega mi documento" in text_of(client.get("/cola/"))
    page = client.get(f"/ticket/{ticket.id}/")
    assert page.status_code == 200
    assert "El oficio enviado no aparece" in text_of(page)
    auth.login("focal_b")
    assert "No llega mi documento" not in text_of(client.get("/cola/"))
    assert client.get(f"/ticket/{ticket.id}/").status_code == 404


def test_invalid_field_gets_message_beside_it_and_nothing_is_saved(client, auth):
    auth.login("interno")
    before = Ticket.select().count()
    response = client.post(
        "/nuevo/soporte/",
        data={"title": "x", "f_categoria": "inventada", "f_modulo": "bandeja_entrada"},
    )
    assert response.status_code == 200
    body = text_of(response)
    assert "Elija una de las opciones." in body
    assert "Este campo es obligatorio." in body
    assert Ticket.select().count() == before


def test_history_row_per_change(app):
    from ticketing import services

    ticket = make_ticket()
    services.transition(user("focal"), ticket.id, "atender")
    kinds = [
        e.kind
        for e in TicketEvent.select().where(TicketEvent.ticket == ticket).order_by(TicketEvent.id)
    ]
    assert kinds == ["created", "transition"]
    event = TicketEvent.select().where(TicketEvent.kind == "transition").get()
    assert event.data["from"] == "nuevo" and event.data["to"] == "en_atencion"
    assert event.actor.email == user("focal").email
