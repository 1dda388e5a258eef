"""The second factor: TOTP enrolment, sign-in with a code or a recovery code, the AGQ's rule."""

import re
import time

import pyotp
import pytest

from tests.conftest import PASSWORD, text_of, user
from tests.test_sessions import _browsers  # noqa: F401  (fixture: clients load their own user)
from ticketing.models import User

PAGE = "/mis-tickets/"


def _password_step(client, key):
    account = user(key)
    return client.post("/login", data={"email": account.email, "password": PASSWORD})


def _sign_in(client, key):
    response = _password_step(client, key)
    assert response.status_code == 302, text_of(response)[:500]
    return user(key)


def _enrol(client):
    """Turn the factor on through the pages; returns (secret, recovery codes)."""
    page = client.post("/cuenta/seguridad/segundo-factor")
    assert page.status_code == 200, text_of(page)[:800]
    body = page.get_data(as_text=True)
    secret = re.search(r'data-testid="totp-secret"[^>]*>([A-Z2-7]+)<', body).group(1)
    assert "otpauth://totp/" in body
    wrong = client.post("/cuenta/seguridad/segundo-factor/confirmar", data={"code": "000000"})
    assert wrong.status_code == 422
    done = client.post(
        "/cuenta/seguridad/segundo-factor/confirmar", data={"code": pyotp.TOTP(secret).now()}
    )
    assert done.status_code == 200, text_of(done)[:800]
    codes = re.findall(r"<li><code>([A-Z0-9-]+)</code></li>", done.get_data(as_text=True))
    assert len(codes) == 10
    return secret, codes


def _unused_code(secret):
    """The code of the next time step: the current one was used up by the enrolment."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def _code_step(client, code):
    return client.post("/login/codigo", data={"code": code})


def test_aiq_enrols_and_sign_in_then_asks_for_the_code(app, client):
    account = _sign_in(client, "aiq")
    secret, codes = _enrol(client)
    stored = User.get_by_id(account.id)
    assert stored.totp_enabled_at is not None
    assert not any(code in str(stored.recovery_codes) for code in codes)  # only hashes kept
    client.post("/logout")

    response = _password_step(client, "aiq")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/codigo")
    assert client.get(PAGE).status_code == 302  # no session before the code
    assert _code_step(client, "123456").status_code == 401
    code = _unused_code(secret)
    assert _code_step(client, code).status_code == 302
    assert client.get(PAGE).status_code == 200
    client.post("/logout")
    # the same code does not sign in a second time (replay)
    _password_step(client, "aiq")
    assert _code_step(client, code).status_code == 401
    assert client.get(PAGE).status_code == 302


def test_a_recovery_code_works_once(app, client):
    _sign_in(client, "agq")
    _secret, codes = _enrol(client)
    client.post("/logout")
    _password_step(client, "agq")
    assert _code_step(client, codes[3].lower().replace("-", " ")).status_code == 302
    assert client.get(PAGE).status_code == 200
    page = text_of(client.get("/cuenta/seguridad"))
    assert "Códigos de recuperación sin usar: 9." in page
    client.post("/logout")
    _password_step(client, "agq")
    assert _code_step(client, codes[3]).status_code == 401
    assert _code_step(client, codes[4]).status_code == 302


def test_new_recovery_codes_replace_the_old_ones_and_disabling_needs_a_code(app, client):
    _sign_in(client, "aiq")
    secret, old = _enrol(client)
    refused = client.post("/cuenta/seguridad/segundo-factor/codigos", data={"code": "111111"})
    assert refused.status_code == 422
    fresh = client.post("/cuenta/seguridad/segundo-factor/codigos", data={"code": old[0]})
    new = re.findall(r"<li><code>([A-Z0-9-]+)</code></li>", fresh.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    assert (
        client.post(
            "/cuenta/seguridad/segundo-factor/desactivar", data={"code": old[1]}
        ).status_code
        == 422
    )
    off = client.post("/cuenta/seguridad/segundo-factor/desactivar", data={"code": new[0]})
    assert off.status_code == 302
    assert User.get_by_id(user("aiq").id).totp_secret is None
    client.post("/logout")
    assert _sign_in(client, "aiq")  # the password alone again
    assert client.get(PAGE).status_code == 200


@pytest.mark.parametrize("key", ["interno", "focal"])
def test_other_roles_cannot_turn_it_on(app, client, key):
    _sign_in(client, key)
    assert client.post("/cuenta/seguridad/segundo-factor").status_code == 403
    assert "Segundo factor" not in text_of(client.get("/cuenta/seguridad"))


def test_agq_requires_it_and_an_aiq_without_it_can_do_nothing_else(app, client):
    aiq_client = app.test_client()
    _sign_in(aiq_client, "aiq")
    assert (
        aiq_client.post("/cuenta/seguridad/politica", data={"require_aiq": "y"}).status_code == 403
    )
    _sign_in(client, "agq")
    assert "Exigir segundo factor a las cuentas AIQ" in text_of(client.get("/cuenta/seguridad"))
    assert client.post("/cuenta/seguridad/politica", data={"require_aiq": "y"}).status_code == 302
    assert client.get(PAGE).status_code == 200  # the AGQ itself is not required

    for url in ("/", PAGE, "/cola/", "/personas/"):
        response = aiq_client.get(url)
        assert response.status_code == 303, url
        assert response.headers["Location"].endswith("/cuenta/seguridad")
    posted = aiq_client.post("/personas/new/", data={"full_name": "X"})
    assert posted.status_code == 303
    page = text_of(aiq_client.get("/cuenta/seguridad"))
    assert "Active el segundo factor para continuar: su rol lo exige." in page
    secret, _codes = _enrol(aiq_client)
    assert aiq_client.get("/cola/").status_code == 200
    # where it is required, it cannot be turned off
    refused = aiq_client.post(
        "/cuenta/seguridad/segundo-factor/desactivar", data={"code": pyotp.TOTP(secret).now()}
    )
    assert refused.status_code == 403
    assert User.get_by_id(user("aiq").id).totp_enabled_at is not None


def test_the_code_step_is_throttled_per_account(app, client):
    app.config["LOGIN_LIMIT_PER_ACCOUNT"] = "2 per minute"
    _sign_in(client, "aiq")
    secret, _codes = _enrol(client)
    client.post("/logout")
    _password_step(client, "aiq")
    assert _code_step(client, "000000").status_code == 401
    assert _code_step(client, "999999").status_code == 401
    throttled = _code_step(client, pyotp.TOTP(secret).now())
    assert throttled.status_code == 429
    assert "Demasiados intentos" in text_of(throttled)
    assert client.get(PAGE).status_code == 302
