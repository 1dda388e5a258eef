"""The one URL rule, used by the form and at every delivery."""

import pytest

from tests.conftest import user
from ticketing.errors import PermissionDenied, ValidationFailed
from ticketing.models import WebhookEndpoint
from ticketing.services.webhooks import create_endpoint, url_refusal


@pytest.mark.parametrize(
    "url",
    ["https://sge.gob.ec/hooks", "https://10.0.0.5:8443/x?y=1", "HTTPS://Sistemas.SGE.gob.ec"],
)
def test_https_is_accepted(url):
    assert url_refusal(url, allow_http=False) is None


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/h", "http://[::1]:9000/", "http://localhost/hooks"]
)
def test_http_to_loopback_only_with_the_setting(url):
    assert url_refusal(url, allow_http=False) is not None
    assert url_refusal(url, allow_http=True) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5/hooks",
        "http://sge.gob.ec/hooks",
        "http://127.0.0.2/hooks",
        "http://127.0.0.1.nip.io/hooks",
        "http://0.0.0.0/",
    ],
)
def test_http_elsewhere_is_refused_even_with_the_setting(url):
    assert url_refusal(url, allow_http=True) is not None


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://sge.gob.ec/x",
        "file:///etc/passwd",
        "https://",
        "https://user:pw@sge.gob.ec/hooks",
        "https://user@sge.gob.ec/hooks",
        "http://u:p@127.0.0.1/hooks",
        "https://sge.gob.ec/ho oks",
        "https://sge.gob.ec/\r\nX: y",
        "https://sge.gob.ec:99999/",
        "https://sge.gob.ec/#frag",
        "sge.gob.ec/hooks",
        "https://" + "a" * 2000 + ".ec",
    ],
)
def test_malformed_or_credentialed_urls_are_refused(url):
    assert url_refusal(url, allow_http=True) is not None


def test_the_setting_is_read_from_the_app(app):
    app.config["WEBHOOK_ALLOW_HTTP"] = False
    assert url_refusal("http://127.0.0.1:8080/") is not None
    app.config["WEBHOOK_ALLOW_HTTP"] = True
    assert url_refusal("http://127.0.0.1:8080/") is None


def test_the_service_refuses_what_the_rule_refuses(app):
    with pytest.raises(ValidationFailed) as refused:
        create_endpoint(user("agq"), url="http://127.0.0.1:8080/")  # setting off by default
    assert "url" in refused.value.fields
    with pytest.raises(ValidationFailed):
        create_endpoint(user("agq"), url="https://sge.gob.ec/", events=["password_reset"])
    assert WebhookEndpoint.select().count() == 0
    created = create_endpoint(user("agq"), url="https://sge.gob.ec/", events=["assigned"])
    assert len(created.secret) >= 40 and created.events == ["assigned"]


@pytest.mark.parametrize("role", ["interno", "focal", "aiq"])
def test_only_the_agq_registers_endpoints(app, role):
    with pytest.raises(PermissionDenied):
        create_endpoint(user(role), url="https://sge.gob.ec/")
    assert WebhookEndpoint.select().count() == 0
