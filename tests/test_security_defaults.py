"""Security rules checked on the defaults, not on the test fixture's settings.

The shared `app` fixture switches CSRF protection off; here the app is built from the
factory's defaults with only the database and test basics, so a default that turned the
protection off would fail. The invitation mail is checked on its rendered text.
"""

import re

import pytest

from tests.conftest import DATABASES, PASSWORD, _database_url, prepare_database, user
from ticketing.app import create_app
from ticketing.db import db
from ticketing.models import Outbox, Ticket, User

SECRET_KEY = "clave-de-prueba-" + "s" * 24


@pytest.fixture(params=DATABASES)
def default_app(request):
    """An app from the factory's defaults: WTF_CSRF_ENABLED is deliberately not set."""
    kind = request.param
    config = {
        "TESTING": True,
        "DATABASE_URL": _database_url(kind),
        "SECRET_KEY": SECRET_KEY,
        "PUBLIC_URL": "http://mesa.test",
        "MAIL_SERVER": None,
        "REDIS_URL": None,
        "SEED_DEMO": False,
    }
    assert "WTF_CSRF_ENABLED" not in config
    application = create_app(config)
    prepare_database(application, kind)
    ctx = application.test_request_context()
    ctx.push()
    yield application
    ctx.pop()
    if not db.is_closed():
        db.close()


def _csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    assert match, "the page carries no CSRF token"
    return match.group(1)


def test_the_defaults_refuse_a_form_post_without_its_token(default_app):
    client = default_app.test_client()
    account = user("interno")
    refused = client.post("/login", data={"email": account.email, "password": PASSWORD})
    assert refused.status_code == 400
    assert client.get("/mis-tickets/").status_code == 302  # still signed out

    token = _csrf_token(client.get("/login").get_data(as_text=True))
    signed_in = client.post(
        "/login", data={"email": account.email, "password": PASSWORD, "csrf_token": token}
    )
    assert signed_in.status_code == 302
    assert client.get("/mis-tickets/").status_code == 200

    before = Ticket.select().count()
    form = {
        "title": "Sin token",
        "f_categoria": "incidente",
        "f_modulo": "bandeja_entrada",
        "f_descripcion": "No puedo firmar.",
    }
    assert client.post("/nuevo/soporte/", data=form).status_code == 400
    assert Ticket.select().count() == before
    # the same post with the page's token goes through: the 400 was the missing token
    page = client.get("/nuevo/soporte/").get_data(as_text=True)
    accepted = client.post("/nuevo/soporte/", data=dict(form, csrf_token=_csrf_token(page)))
    assert accepted.status_code == 302
    assert Ticket.select().count() == before + 1


def test_the_invitation_mail_holds_no_secret_beyond_its_signed_link(default_app):
    from notifications.mailer import render
    from ticketing import services
    from ticketing.invitations import user_from_invitation

    # an account that already has a password: its hash is what a careless mail could leak
    person = user("focal")
    assert person.password_hash
    services.send_invitation(person)
    row = Outbox.get((Outbox.event == "invitation") & (Outbox.recipient == person.email))
    subject, text, html = render(row)

    links = re.findall(r"http://mesa\.test/password/([A-Za-z0-9_.\-]+)", text)
    assert links, text
    assert all(user_from_invitation(token).id == person.id for token in links)
    outside = re.sub(r"http://mesa\.test/password/[A-Za-z0-9_.\-]+", "", text + subject)
    outside_html = re.sub(r"http://mesa\.test/password/[A-Za-z0-9_.\-]+", "", html)
    stored_hash = User.get_by_id(person.id).password_hash or ""
    secrets = [SECRET_KEY, PASSWORD, "scrypt:", "pbkdf2:"]
    secrets += [stored_hash[i : i + 12] for i in range(0, len(stored_hash) - 11, 6)]
    for secret in secrets:
        assert secret not in outside and secret not in outside_html, secret
    for word in ("contraseña:", "password:", "clave:"):  # no "password: ..." line either
        assert word not in outside.lower()
    assert "iniciar sesión" in text.lower() or "contraseña" in text.lower()  # says what to do
