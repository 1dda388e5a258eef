"""The queue on a 375 px phone and the AGQ's menu at 1280 px, in Chromium.

On a phone each ticket of the Cola and of Mis tickets is a card (reference and title as the
link, state, assignee, due date with "Vencido"), nothing scrolls sideways even with long
titles, and the views and filters fold behind a "Filtros" button that works without a
script (a <details>). On a desk the AGQ's whole menu stands on one line, its groups opened
from the keyboard like any dropdown.
"""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.conftest import make_ticket, user
from ticketing import services
from ticketing.models import Ticket, now

pytestmark = pytest.mark.browser

LONG_WORD = "Certificado_de_firma_electrónica_caducado_en_el_servidor_institucional_de_Quipux"
LONG_TITLE = (
    "No se puede reasignar el documento a la bandeja del subrogante porque el área "
    "desaparece de la lista después de la actualización de la plantilla de la institución"
)

# the widest the page is, and what sticks out past the viewport (for the message)
WIDTH = """() => ({
  scroll: document.scrollingElement.scrollWidth,
  wide: [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
      .slice(0, 5).map((el) => el.outerHTML.slice(0, 120)),
})"""


@pytest.fixture
def queue(site):
    """Three tickets of interno's: one overdue and assigned, two with long titles."""
    with site.app.test_request_context():
        focal = user("focal")
        overdue = make_ticket(title=LONG_TITLE)
        services.assign(focal, overdue.id, focal.id)
        # the deadline is the clock's business: put it in the past directly
        Ticket.update(due_at=now() - timedelta(days=2)).where(Ticket.id == overdue.id).execute()
        word = make_ticket(title=LONG_WORD)
        plain = make_ticket(title="Consulta sobre la bandeja de salida")
        return {
            "overdue": Ticket.get_by_id(overdue.id),
            "word": Ticket.get_by_id(word.id),
            "plain": Ticket.get_by_id(plain.id),
            "focal": focal.full_name,
        }


def _no_sideways_scroll(page):
    width = page.evaluate(WIDTH)
    assert width["scroll"] <= PHONE["width"], width


def _card(page, ticket):
    return page.locator("[data-shortcut-rows] tbody tr", has_text=ticket.reference)


def test_the_queue_is_a_list_of_cards_on_a_phone(site, queue):
    page = site.page_as("focal", viewport=PHONE)
    page.goto("/cola/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Cola de la mesa de ayuda de INSTA")
    _no_sideways_scroll(page)

    card = _card(page, queue["overdue"])
    expect(card).to_have_count(1)
    box = card.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    # reference and title both lead to the ticket; the column headings are not shown
    link = card.get_by_role("link", name=LONG_TITLE)
    expect(link).to_be_visible()
    expect(card.get_by_role("link", name=queue["overdue"].reference)).to_be_visible()
    expect(page.locator(".model-list thead")).to_have_css("position", "absolute")
    # a card tells state, assignee and due date, each named, and says when it is overdue
    expect(card.locator(".col-state .badge")).to_be_visible()
    expect(card.locator(".col-assignee")).to_have_text(queue["focal"])
    expect(card.locator(".col-assignee")).to_have_attribute("data-label", "Asignado a")
    assignee_label = card.locator(".col-assignee").evaluate(
        "(el) => getComputedStyle(el, '::before').content"
    )
    assert assignee_label == '"Asignado a: "'
    expect(card.locator(".col-due_at")).to_contain_text("Vencido")
    expect(card.locator(".col-type")).to_be_hidden()  # what a card leaves out
    # the cards stack: each one below the other, not side by side
    cards = page.locator("[data-shortcut-rows] tbody tr")
    expect(cards).to_have_count(3)
    tops = [cards.nth(i).bounding_box()["y"] for i in range(3)]
    assert tops == sorted(tops) and len(set(tops)) == 3, tops
    word_card = _card(page, queue["word"]).bounding_box()
    assert word_card["x"] + word_card["width"] <= PHONE["width"], word_card
    screenshot(page, "cola-telefono-tarjetas")

    # views and filters wait behind "Filtros" (the current view named on it)
    situation = page.get_by_label("Situación")
    expect(situation).to_be_hidden()
    expect(page.get_by_test_id("view-mine")).to_be_hidden()
    summary = page.locator(".mesa-filters > summary")
    expect(summary).to_have_text(re.compile(r"Filtros · Abiertos"))
    summary.focus()
    page.keyboard.press("Enter")  # a <details>: the keyboard opens it, no script involved
    expect(situation).to_be_visible()
    expect(page.get_by_test_id("view-mine")).to_be_visible()
    _no_sideways_scroll(page)
    screenshot(page, "cola-telefono-filtros")
    page.get_by_test_id("view-mine").click()
    page.wait_for_url(re.compile(r"view=mine"))
    expect(page.locator("[data-shortcut-rows] tbody tr")).to_have_count(1)
    expect(page.locator(".mesa-filters > summary")).to_have_text(
        re.compile(r"Filtros · Asignados a mí")
    )
    # a chosen filter keeps the fold open and counted, so it is seen
    page.goto("/cola/?situacion=open")
    expect(page.get_by_label("Situación")).to_be_visible()
    expect(page.locator(".mesa-filters > summary")).to_contain_text("1 activo")
    _no_sideways_scroll(page)


def test_mis_tickets_is_a_list_of_cards_on_a_phone(site, queue):
    page = site.page_as("interno", viewport=PHONE)
    page.goto("/mis-tickets/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mis tickets")
    _no_sideways_scroll(page)
    for key in ("overdue", "word", "plain"):
        card = _card(page, queue[key])
        expect(card.get_by_role("link", name=queue[key].title)).to_be_visible()
        expect(card.locator(".col-state .badge")).to_be_visible()
        box = card.bounding_box()
        assert box["x"] + box["width"] <= PHONE["width"], (key, box)
    expect(page.get_by_label("Situación")).to_be_hidden()
    page.locator(".mesa-filters > summary").click()
    expect(page.get_by_label("Situación")).to_be_visible()
    screenshot(page, "mis-tickets-telefono")


def test_on_a_desk_the_filters_are_shown_without_the_fold(site, queue):
    page = site.page_as("focal", viewport=DESKTOP)
    page.goto("/cola/")
    expect(page.locator(".mesa-filters > summary")).to_be_hidden()
    expect(page.get_by_label("Situación")).to_be_visible()
    expect(page.get_by_test_id("view-unassigned")).to_be_visible()
    # a table again, with its headings
    expect(page.get_by_role("columnheader", name="Asignado a")).to_be_visible()
    expect(page.locator(".model-list thead")).not_to_have_css("position", "absolute")


TOP_LEVEL = """() => [...document.querySelectorAll(
    '#admin-navbar-collapse > ul > li, #admin-navbar-collapse > a,'
    + ' #admin-navbar-collapse > form, #admin-navbar-collapse > div')]
  .filter((el) => el.getClientRects().length)
  .map((el) => {
    const box = el.getBoundingClientRect();
    return {text: el.textContent.replace(/\\s+/g, ' ').trim().slice(0, 30),
            top: box.top, bottom: box.bottom, right: box.right};
  })"""


def test_the_agq_menu_stands_on_one_line_at_1280_px(site):
    page = site.page_as("agq", viewport=DESKTOP)
    page.goto("/cola/")
    items = page.evaluate(TOP_LEVEL)
    texts = [item["text"] for item in items]
    assert any(t.startswith("Cola") for t in texts) and any("Buscar" in t for t in texts), texts
    # one line: every entry shares the first one's line, and the bar is one line tall
    first = items[0]
    for item in items:
        assert item["top"] < first["bottom"] and item["bottom"] > first["top"], items
        assert item["right"] <= DESKTOP["width"], item
    height = page.evaluate("() => document.querySelector('nav.navbar').offsetHeight")
    assert height < 70, height
    screenshot(page, "menu-agq-1280")

    # a group opens from the keyboard, says so, and leads to its screens
    group = page.get_by_role("button", name="Configuración")
    expect(group).to_have_attribute("aria-expanded", "false")
    group.focus()
    page.keyboard.press("Enter")
    expect(group).to_have_attribute("aria-expanded", "true")
    designer = page.get_by_role("link", name="Diseñador")
    expect(designer).to_be_visible()
    for name in ("Correo saliente", "Correo entrante", "Plantillas de correo", "Tokens de API"):
        expect(page.get_by_role("link", name=name)).to_be_visible()
    screenshot(page, "menu-agq-configuracion")
    designer.click()
    page.wait_for_url("**/disenador/")
    # the page's group is marked, and its entry is the current page
    expect(page.locator(".mesa-menu li.dropdown.active")).to_have_text(re.compile("Configuración"))
    expect(page.locator('.mesa-menu a[aria-current="page"]')).to_have_text("Diseñador")

    # the person's own things are one dropdown: security, language, sign-out
    account = page.get_by_role("button", name=re.compile(r"^Cuenta: "))
    account.click()
    expect(page.get_by_role("link", name="Seguridad de la cuenta")).to_be_visible()
    expect(page.get_by_role("button", name="English")).to_be_visible()
    page.get_by_role("button", name="Cerrar sesión").click()
    page.wait_for_url(re.compile(r"/login"))
