"""Forgotten passwords: a signed link by mail, the same answer for every address."""

from tests.conftest import PASSWORD, text_of, user
from ticketing.models import Outbox, User


def _ask(client, email):
    return client.post("/password/forgot", data={"email": email}, follow_redirects=True)


def _link(row) -> str:
    return row.context["url"].removeprefix("http://mesa.test")


def test_known_address_gets_a_link_that_sets_a_new_password_once(app, client, smtp):
    focal = user("focal")
    answer = _ask(client, focal.email.upper())
    assert "Si el correo está registrado" in text_of(answer)
    [row] = Outbox.select().where(Outbox.event == "password_reset")
    assert row.recipient == focal.email
    [message] = smtp.mailbox.to(focal.email)
    assert "http://mesa.test/password/" in message["text"]
    assert PASSWORD not in message["text"]

    link = _link(row)
    assert client.get(link).status_code == 200
    new = "otra clave muy larga 42"
    saved = client.post(link, data={"password": new, "confirm": new})
    assert saved.status_code == 302
    assert User.get_by_id(focal.id).check_password(new)
    # the link dies with the password it set
    assert client.get(link).status_code == 404
    signed_in = client.post("/login", data={"email": focal.email, "password": new})
    assert signed_in.status_code == 302


def test_unknown_and_inactive_addresses_get_the_same_answer_and_no_mail(app, client, smtp):
    interno = user("interno")
    User.update(active=False).where(User.id == interno.id).execute()
    known = text_of(_ask(client, user("focal").email))
    for email in ("nadie@insta.ec", interno.email):
        assert text_of(_ask(client, email)) == known
    assert [r.recipient for r in Outbox.select()] == [user("focal").email]
    assert smtp.mailbox.to(interno.email) == []


def test_login_page_offers_the_forgotten_password_link(client):
    page = text_of(client.get("/login"))
    assert 'href="/password/forgot"' in page
    form = text_of(client.get("/password/forgot"))
    assert 'for="email"' in form and "Enviar el enlace" in form
