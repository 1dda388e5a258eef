"""End to end in Chromium: the menu's search box finds a word of a ticket's description
and of an internal note (for staff), keyboard only, and the result opens the ticket."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.conftest import make_ticket, user
from ticketing import services

pytestmark = pytest.mark.browser


def test_focal_user_searches_from_the_menu_with_the_keyboard_and_opens_the_ticket(site):
    with site.app.test_request_context():
        ticket = make_ticket(
            user("interno"),
            title="Problema al enviar un oficio",
            fields={"descripcion": "Dice que el certificado está caducado desde ayer."},
        )
        services.add_comment(
            user("aiq"), ticket.id, "Renovar con el token criptográfico", internal=True
        )
        make_ticket(
            user("interno_b"), title="Otro certificado caducado", fields={"descripcion": "B"}
        )
        ticket_id = ticket.id

    focal = site.page_as("focal")
    search = focal.get_by_role("searchbox", name="Buscar en tickets y artículos").first
    search.focus()
    focal.keyboard.type("Caducados")  # plural and capital: stemmed and folded
    focal.keyboard.press("Enter")
    results = focal.get_by_test_id("search-tickets")
    expect(results.get_by_role("link")).to_have_count(1)
    expect(results.locator("mark").first).to_have_text("caducado")
    expect(focal.get_by_test_id("search-total")).to_have_text("1")
    screenshot(focal, "01-buscar-resultados")

    # the internal note is found by staff...
    box = focal.get_by_label("Palabras")
    box.fill("criptografico")
    box.press("Enter")
    expect(focal.get_by_test_id("search-tickets").get_by_role("link")).to_have_count(1)
    # ...and the result opens the ticket, by keyboard
    link = focal.get_by_test_id("search-tickets").get_by_role("link").first
    link.focus()
    focal.keyboard.press("Enter")
    expect(focal).to_have_url(f"{site.url}/ticket/{ticket_id}/")

    # the requester does not find the internal note's word
    interno = site.page_as("interno")
    box = interno.get_by_role("searchbox", name="Buscar en tickets y artículos").first
    box.fill("criptografico")
    box.press("Enter")
    expect(interno.get_by_test_id("search-none")).to_be_visible()
