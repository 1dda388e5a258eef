"""Only the AGQ designs: every designer URL and every design service, for every other role."""

import pytest

from tests.conftest import user
from ticketing import design
from ticketing.errors import PermissionDenied
from ticketing.models import TicketType

OTHERS = ["interno", "focal", "aiq", "interno_b", "focal_b", "aiq_b"]


def _designer_urls(app):
    """Every URL of the designer, each with every method it accepts."""
    support = TicketType.get(TicketType.slug == "soporte")
    from flask import url_for

    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("designer."):
            continue
        values = {"type_id": support.id} if "type_id" in rule.arguments else {}
        with app.test_request_context():
            url = url_for(rule.endpoint, **values)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            urls.append((method, url))
    return urls


def test_the_designer_has_the_screens_it_promises(app):
    urls = {url for _method, url in _designer_urls(app)}
    support = TicketType.get(TicketType.slug == "soporte").id
    assert urls == {
        "/disenador/",
        "/disenador/nuevo",
        f"/disenador/{support}/",
        f"/disenador/{support}/vista-previa",
        "/disenador/proceso",
        "/disenador/proceso.yaml",
    }


@pytest.mark.parametrize("key", OTHERS)
def test_no_other_role_reaches_a_designer_url(app, client, auth, key):
    auth.login(key)
    before = TicketType.get(TicketType.slug == "soporte").name
    for method, url in _designer_urls(app):
        response = client.open(url, method=method, data={"name": "Intruso", "op": "save"})
        assert response.status_code == 404, (method, url)
    assert "Diseñador" not in client.get("/").get_data(as_text=True)
    assert TicketType.get(TicketType.slug == "soporte").name == before


def test_anonymous_visitors_are_sent_to_sign_in(app, client):
    for method, url in _designer_urls(app):
        response = client.open(url, method=method)
        assert response.status_code == 302, (method, url)
        assert "/login" in response.headers["Location"]


def test_the_agq_finds_the_designer_in_the_menu(app, client, auth):
    auth.login("agq")
    home = client.get("/").get_data(as_text=True)
    assert 'href="/disenador/"' in home and "Diseñador" in home


@pytest.mark.parametrize("key", ["interno", "focal", "aiq"])
def test_design_services_refuse_everyone_but_the_agq(app, key):
    actor = user(key)
    draft = {"name": "X", "states": [{"label": "A", "initial": True}]}
    calls = [
        lambda: design.save_type(actor, draft),
        lambda: design.types_overview(actor),
        lambda: design.export_process_text(actor),
        lambda: design.import_process_text(actor, "ticket_types: []"),
        lambda: design.draft_of(actor, TicketType.get(TicketType.slug == "soporte").id),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied):
            call()
    assert not TicketType.select().where(TicketType.slug == "x").exists()


def test_designer_posts_need_the_forms_csrf_token(app, client, auth):
    """With CSRF on, as in production: without the page's token nothing is saved or imported."""
    from tests.designer.helpers import page_form

    auth.login("agq")
    support = TicketType.get(TicketType.slug == "soporte")
    url = f"/disenador/{support.id}/"
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        form = page_form(client.get(url)).set("name", "Soporte renombrado")
        assert form.values["csrf_token"][0]
        without = {k: v for k, v in form.data(op="save").items() if k != "csrf_token"}
        assert client.post(url, data=without).status_code == 400
        imported = client.post("/disenador/proceso", data={"text": "ticket_types: []"})
        assert imported.status_code == 400
        assert TicketType.get_by_id(support.id).name == "Soporte de primer nivel"
        assert client.post(url, data=form.data(op="save")).status_code == 302
        assert TicketType.get_by_id(support.id).name == "Soporte renombrado"
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
