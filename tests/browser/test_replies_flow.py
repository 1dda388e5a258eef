"""End to end in Chromium: the AIQ writes a canned reply for her institution (a bad
placeholder is refused beside the field, nothing saved), a focal user of the same
institution finds it filled in on a ticket, and another institution's never sees it."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, screenshot
from tests.browser.test_axe import blocking_violations, with_axe
from tests.conftest import make_ticket, user
from ticketing.models import CannedReply

pytestmark = pytest.mark.browser


def test_the_aiq_writes_a_reply_and_her_focal_user_uses_it(site):
    with site.app.test_request_context():
        ticket = make_ticket(user("interno"), title="No llegan los documentos")
        other = make_ticket(user("interno_b"), title="Otra institución")
        ticket_id, other_id, reference = ticket.id, other.id, ticket.reference

    aiq = with_axe(site.page_as("aiq", viewport=DESKTOP))
    aiq.goto("/respuestas/")
    aiq.get_by_test_id("new-reply").click()
    aiq.get_by_label("Nombre").fill("Revisión de bandeja")
    aiq.get_by_label("Texto").fill(
        "Hola {{ solicitante }}: {% for x in campos %}{{ x }}{% endfor %}"
    )
    aiq.get_by_label("Tipos de ticket").select_option(["soporte"])
    aiq.get_by_role("button", name="Guardar").click()
    error = aiq.locator('.invalid-feedback[data-field="body"]')
    expect(error).to_contain_text("nada de bucles")
    assert blocking_violations(aiq) == []
    screenshot(aiq, "respuestas-01-marcador-rechazado")
    with site.app.test_request_context():
        assert not CannedReply.select().where(CannedReply.name == "Revisión de bandeja").exists()

    aiq.get_by_label("Texto").fill(
        "Hola {{ solicitante }}: revisamos **{{ referencia }}** ({{ campos.modulo }})."
    )
    aiq.get_by_role("button", name="Guardar").click()
    expect(aiq.get_by_text("Respuesta «Revisión de bandeja» guardada.")).to_be_visible()
    expect(aiq.get_by_test_id("replies")).to_contain_text("Revisión de bandeja")
    assert blocking_violations(aiq) == []
    screenshot(aiq, "respuestas-02-lista")

    focal = with_axe(site.page_as("focal", viewport=DESKTOP))
    focal.goto(f"/ticket/{ticket_id}/")
    focal.get_by_label("Respuesta predefinida").fill("Revisión de bandeja")
    focal.get_by_role("button", name="Insertar").click()
    expect(focal.get_by_label("Nuevo comentario")).to_have_value(
        f"Hola INTERNO INSTA: revisamos **{reference}** (Bandeja de entrada)."
    )
    expect(focal.get_by_test_id("comment-then")).to_be_hidden()  # no action with this one

    focal_b = site.page_as("focal_b", viewport=DESKTOP)
    focal_b.goto("/respuestas/")
    expect(focal_b.get_by_text("Revisión de bandeja")).to_have_count(0)
    focal_b.goto(f"/ticket/{other_id}/")
    expect(
        focal_b.locator("#canned-reply-names option[value='Revisión de bandeja']")
    ).to_have_count(0)
