"""End to end in Chromium: the focal user comments on an internal user's ticket; the
internal user sees the bell say 1, opens Avisos, follows the notice to the ticket, and the
bell says none. The Avisos pages pass axe-core (WCAG A/AA) and work from the keyboard."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.browser.test_axe import blocking_violations, with_axe
from tests.conftest import make_ticket, user

pytestmark = pytest.mark.browser


def test_a_comment_rings_the_bell_and_the_notice_opens_the_ticket(site):
    with site.app.test_request_context():
        ticket = make_ticket(user("interno"), title="No puedo firmar el oficio")
        ticket_id, reference = ticket.id, ticket.reference

    interno = with_axe(site.page_as("interno", viewport=DESKTOP))
    bell = interno.get_by_test_id("bell")
    expect(bell).to_have_accessible_name("Avisos, ninguno sin leer")
    expect(interno.get_by_test_id("bell-count")).to_have_count(0)

    focal = site.page_as("focal")
    focal.goto(f"/ticket/{ticket_id}/")
    focal.get_by_label("Nuevo comentario").fill("¿Qué mensaje le aparece al firmar?")
    focal.get_by_role("button", name="Comentar").click()
    expect(focal.get_by_test_id("comment")).to_contain_text(["Qué mensaje le aparece"])

    interno.reload()
    expect(bell).to_have_accessible_name("Avisos, 1 sin leer")
    expect(interno.get_by_test_id("bell-count")).to_have_text("1")
    screenshot(interno, "avisos-01-campana")
    bell.focus()
    interno.keyboard.press("Enter")  # the bell is a plain link: keyboard and no JS
    expect(interno).to_have_url(f"{site.url}/avisos/")
    notices = interno.get_by_test_id("notices")
    link = notices.get_by_role("link", name=f"Sin leer Comentario nuevo: {reference}")
    expect(link).to_be_visible()
    expect(notices).to_contain_text("Por FOCAL INSTA")
    expect(notices).to_contain_text("¿Qué mensaje le aparece al firmar?")
    assert blocking_violations(interno) == []
    screenshot(interno, "avisos-02-lista")

    link.click()
    expect(interno).to_have_url(f"{site.url}/ticket/{ticket_id}/")
    expect(interno.get_by_test_id("bell")).to_have_accessible_name("Avisos, ninguno sin leer")
    expect(interno.get_by_test_id("bell-count")).to_have_count(0)

    interno.goto("/avisos/")  # read now: no longer marked
    expect(interno.get_by_test_id("notices").get_by_text("Sin leer")).to_have_count(0)


def test_preferences_turn_a_mail_off_and_pass_axe(site):
    page = with_axe(site.page_as("interno", viewport=DESKTOP))
    page.goto("/avisos/")
    expect(page.get_by_test_id("notices-none")).to_be_visible()
    assert blocking_violations(page) == []
    page.get_by_role("link", name="Qué avisos llegan también por correo").click()
    expect(page).to_have_url(f"{site.url}/avisos/preferencias")
    box = page.get_by_label("Comentario nuevo")
    expect(box).to_be_checked()
    assert blocking_violations(page) == []
    screenshot(page, "avisos-03-preferencias")
    box.uncheck()
    page.get_by_role("button", name="Guardar").click()
    expect(page.get_by_role("status").first).to_have_text("Preferencias guardadas.")
    expect(page.get_by_label("Comentario nuevo")).not_to_be_checked()
    expect(page.get_by_label("Cambio de estado")).to_be_checked()
    assert blocking_violations(page) == []


def test_the_bell_is_reachable_at_phone_width(site):
    with site.app.test_request_context():
        ticket = make_ticket(user("interno"))
        from ticketing import services

        services.add_comment(user("focal"), ticket.id, "Revisamos su caso.")
    page = site.page_as("interno", viewport=PHONE)
    page.get_by_role("button", name="Abrir el menú").click()
    expect(page.locator("#admin-navbar-collapse")).to_have_class(re.compile(r"\bshow\b"))
    bell = page.get_by_test_id("bell")
    expect(bell).to_be_visible()
    expect(bell).to_have_accessible_name("Avisos, 1 sin leer")
    screenshot(page, "avisos-04-campana-telefono")
    bell.click()
    expect(page).to_have_url(f"{site.url}/avisos/")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the list scrolls sideways on a phone"
