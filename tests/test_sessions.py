"""Server-side sessions: a copied cookie dies with its sign-in; sign-in is throttled."""

import os
import re

import pytest
from flask import g
from flask.testing import FlaskClient

from tests.conftest import PASSWORD, text_of, user
from ticketing import services
from ticketing.db import count_queries
from ticketing.invitations import invitation_token
from ticketing.models import User, UserSession

PAGE = "/mis-tickets/"


class Browser(FlaskClient):
    """A test client whose every request loads its user from its own cookies.

    The `app` fixture keeps one app context open, so Flask-Login's per-context cache
    (`g._login_user`) would otherwise carry one client's user into another's request.
    """

    def open(self, *args, **kwargs):
        g.pop("_login_user", None)
        return super().open(*args, **kwargs)


@pytest.fixture(autouse=True)
def _browsers(app):
    app.test_client_class = Browser


def _sign_in(client, key, remember=True):
    account = user(key)
    data = {"email": account.email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/login", data=data)
    assert response.status_code == 302, text_of(response)[:500]
    return account


def _signed_out(client) -> bool:
    response = client.get(PAGE)
    return response.status_code == 302 and "/login" in response.headers["Location"]


class CookieCopy:
    """Copies of a browser's session and remember-me cookies, tried in fresh browsers.

    Each check starts a new client: one with both cookies, one with the remember-me cookie
    alone (how a browser comes back after being closed).
    """

    def __init__(self, app, source):
        self.app = app
        self.values = {name: source.get_cookie(name).value for name in COOKIES}

    def _browsers(self):
        for names in (COOKIES, ("remember_token",)):
            browser = self.app.test_client()
            for name in names:
                browser.set_cookie(name, self.values[name])
            yield browser

    def works(self) -> bool:
        return all(browser.get(PAGE).status_code == 200 for browser in self._browsers())

    def signed_out(self) -> bool:
        return all(_signed_out(browser) for browser in self._browsers())


COOKIES = ("session", "remember_token")


def _copy(app, source) -> CookieCopy:
    copy = CookieCopy(app, source)
    assert copy.works()  # the copies work while the sign-in lives
    return copy


def test_logout_ends_the_copied_session_and_remember_cookie(app, client):
    _sign_in(client, "focal")
    thief = _copy(app, client)
    client.post("/logout")
    assert _signed_out(client)
    assert thief.signed_out()


def test_password_reset_ends_every_session(app, client):
    account = _sign_in(client, "focal")
    thief = _copy(app, client)
    token = invitation_token(User.get_by_id(account.id))
    reset = app.test_client().post(
        f"/password/{token}", data={"password": "otra clave larga", "confirm": "otra clave larga"}
    )
    assert reset.status_code == 302
    assert _signed_out(client)
    assert thief.signed_out()


def test_password_change_ends_the_other_sessions_and_keeps_this_one(app, client):
    _sign_in(client, "aiq")
    thief = _copy(app, client)
    wrong = client.post(
        "/cuenta/seguridad/contrasena",
        data={"current": "no es", "password": "nueva clave larga", "confirm": "nueva clave larga"},
    )
    assert wrong.status_code == 422
    assert "La contraseña actual no es correcta." in text_of(wrong)
    assert thief.works()
    changed = client.post(
        "/cuenta/seguridad/contrasena",
        data={"current": PASSWORD, "password": "nueva clave larga", "confirm": "nueva clave larga"},
    )
    assert changed.status_code == 302
    assert client.get(PAGE).status_code == 200
    assert thief.signed_out()
    assert User.get_by_id(user("aiq").id).check_password("nueva clave larga")


def test_ending_other_sessions_from_the_security_page(app, client):
    _sign_in(client, "interno")
    thief = _copy(app, client)
    laptop = app.test_client()
    _sign_in(laptop, "interno")
    page = text_of(client.get("/cuenta/seguridad"))
    assert "Sesiones abiertas en otros equipos o navegadores: 1." in page
    client.post("/cuenta/seguridad/sesiones")
    assert client.get(PAGE).status_code == 200
    assert _signed_out(laptop)
    assert thief.signed_out()  # a copy of this browser's cookie too: its key was renewed


def _person_form(person, **overrides):
    data = {
        "full_name": person.full_name,
        "cedula": person.cedula,
        "email": person.email,
        "role": person.role,
        "cargo": person.cargo,
        "phone": "",
        "mobile": "",
        "active": "y",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_deactivation_on_the_agq_screen_ends_the_persons_sessions(app, client):
    person = _sign_in(client, "focal")
    thief = _copy(app, client)
    agq = app.test_client()
    _sign_in(agq, "agq")
    response = agq.post(f"/personas/edit/?id={person.id}", data=_person_form(person, active=None))
    assert response.status_code == 302, text_of(response)[:800]
    assert User.get_by_id(person.id).active is False
    assert _signed_out(client)
    assert thief.signed_out()


def test_role_change_ends_the_persons_sessions_and_other_edits_do_not(app, client):
    person = _sign_in(client, "focal")
    thief = _copy(app, client)
    agq = app.test_client()
    _sign_in(agq, "agq")
    response = agq.post(f"/personas/edit/?id={person.id}", data=_person_form(person, cargo="Jefe"))
    assert response.status_code == 302, text_of(response)[:800]
    assert client.get(PAGE).status_code == 200  # a new cargo changes nobody's access
    services.update_user(user("agq"), person.id, {"role": "interno"})
    assert _signed_out(client)
    assert thief.signed_out()


def test_a_cookie_with_a_bare_user_id_is_refused(app, client):
    """Cookies made before server-side sessions, or forged with a known key, carry no key."""
    account = user("focal")
    with client.session_transaction() as session:
        session["_user_id"] = str(account.id)
        session["_fresh"] = True
    assert _signed_out(client)
    with client.session_transaction() as session:
        session["_user_id"] = f"{account.id}:not-a-live-key"
    assert _signed_out(client)


def test_a_page_costs_one_session_lookup(app, client):
    _sign_in(client, "focal")
    client.get(PAGE)
    with count_queries() as statements:
        assert client.get(PAGE).status_code == 200
    touching = [s for s in statements if "user_session" in s]
    assert len(touching) == 1, touching
    assert UserSession.select().where(UserSession.user == user("focal").id).count() == 1


# --- throttling ---------------------------------------------------------------------------

STORAGES = ["memory://"] + [u for u in [os.environ.get("TEST_REDIS_URL")] if u]


@pytest.fixture(params=STORAGES, ids=lambda uri: uri.split(":")[0])
def throttled_app(request, app):
    """The app with low sign-in limits, counted in memory or in the real Redis."""
    from ticketing.web.auth import limiter

    app.config.update(
        RATELIMIT_STORAGE_URI=request.param,
        LOGIN_LIMIT_PER_ACCOUNT="3 per minute",
        LOGIN_LIMIT_PER_ADDRESS="100 per minute",
    )
    limiter.init_app(app)  # again, on the chosen storage (its hooks are added once)
    assert type(limiter.storage).__name__.lower().startswith(request.param.split(":")[0])
    limiter.storage.reset()
    yield app
    limiter.storage.reset()


def _answer(response) -> tuple[int, str]:
    """Status and page text without what differs by request (CSRF token, typed address)."""
    page = re.sub(r'value="[^"]*"', "", text_of(response))
    return response.status_code, page


def _attempt(client, email, password="no es la clave", address="127.0.0.1"):
    return client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def test_failed_sign_ins_are_throttled_alike_for_known_and_unknown_accounts(throttled_app):
    known, unknown = user("focal").email, "nadie@insta.ec"
    answers = {}
    for email in (known, unknown):
        client = throttled_app.test_client()
        wrong = [_answer(_attempt(client, email)) for _i in range(3)]
        assert {a[0] for a in wrong} == {401}
        assert "Correo o contraseña incorrectos." in wrong[0][1]
        throttled = _attempt(client, email)
        assert throttled.headers.get("Retry-After")
        answers[email] = (wrong[0], _answer(throttled))
    assert answers[known] == answers[unknown]
    status, page = answers[known][1]
    assert status == 429
    assert "Demasiados intentos. Espere unos minutos y vuelva a intentarlo." in page
    # the right password does not get through a throttled account, from any address
    late = _attempt(throttled_app.test_client(), known, PASSWORD, address="127.0.0.9")
    assert late.status_code == 429
    assert _signed_out(throttled_app.test_client())
    # another account is not throttled by the first one's failures
    assert _attempt(throttled_app.test_client(), user("aiq").email, PASSWORD).status_code == 302


def test_successful_sign_ins_are_not_counted(throttled_app):
    client = throttled_app.test_client()
    for _i in range(5):
        assert _attempt(client, user("focal").email, PASSWORD).status_code == 302
        client.post("/logout")


def test_failed_sign_ins_are_throttled_per_address(app):
    app.config.update(
        LOGIN_LIMIT_PER_ACCOUNT="100 per minute", LOGIN_LIMIT_PER_ADDRESS="4 per minute"
    )
    client = app.test_client()
    for index in range(4):
        assert _attempt(client, f"persona{index}@insta.ec").status_code == 401
    assert _attempt(client, "otra@insta.ec").status_code == 429
    assert _attempt(client, user("focal").email, PASSWORD).status_code == 429
    elsewhere = _attempt(client, user("focal").email, PASSWORD, address="127.0.0.2")
    assert elsewhere.status_code == 302


def test_password_reset_requests_are_throttled_per_account(app, client):
    app.config["LOGIN_LIMIT_PER_ACCOUNT"] = "2 per minute"
    for _i in range(2):
        assert client.post("/password/forgot", data={"email": "nadie@insta.ec"}).status_code == 302
    refused = client.post("/password/forgot", data={"email": "nadie@insta.ec"})
    assert refused.status_code == 429
    assert "Demasiados intentos" in text_of(refused)


def test_a_browser_coming_back_with_the_remember_cookie_stays_signed_in(app, client):
    # strong session protection used to drop a session restored from the cookie on the
    # request after it was restored: "Recordarme" lasted one page
    _sign_in(client, "focal")
    returning = app.test_client()
    returning.set_cookie("remember_token", client.get_cookie("remember_token").value)
    assert [returning.get(PAGE).status_code for _ in range(3)] == [200, 200, 200]
    assert returning.get_cookie("remember_token") is not None
