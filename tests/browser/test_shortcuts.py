"""Keyboard shortcuts on the queue and the ticket page, in Chromium: / goes to the search
box, j and k choose a ticket of the list (told to screen readers through a live region),
Enter opens it, r goes to the comment box, ? opens the help (a modal dialog: focus kept
inside, Escape closes it). Keys typed into a field, or with a modifier, stay the field's.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, screenshot
from tests.browser.test_axe import blocking_violations, with_axe
from tests.conftest import make_ticket

pytestmark = pytest.mark.browser

TITLES = ("Primer ticket de la cola", "Segundo ticket de la cola", "Tercer ticket de la cola")
FOCUSED = "() => document.activeElement && (document.activeElement.id || document.activeElement.textContent.trim())"


@pytest.fixture
def tickets(site):
    """Three tickets in INSTA's queue, newest (the list's first row) last."""
    with site.app.test_request_context():
        return [make_ticket(title=title) for title in TITLES]


def _status(page):
    return page.get_by_test_id("shortcut-status")


def _rest(page):
    """Put the focus on the page itself (nothing being typed)."""
    page.locator("main").focus()


def test_the_queue_and_the_ticket_page_from_the_keyboard(site, tickets):
    page = with_axe(site.page_as("focal"))
    page.goto("/cola/")
    newest, middle, oldest = tickets[2], tickets[1], tickets[0]
    status = _status(page)
    expect(status).to_have_attribute("aria-live", "polite")
    _rest(page)

    # / goes to the menu's search box; what is typed there stays there
    page.keyboard.press("/")
    expect(page.locator("#menu-search-q")).to_be_focused()
    page.keyboard.type("jk?")
    expect(page.locator("#menu-search-q")).to_have_value("jk?")
    expect(page.locator("tr.mesa-current")).to_have_count(0)
    expect(page.get_by_test_id("shortcuts-help")).to_be_hidden()
    page.locator("#menu-search-q").fill("")

    # j and k move through the rows, each move told with its place in the list
    _rest(page)
    page.keyboard.press("j")
    first = page.locator("tr.mesa-current")
    expect(first).to_have_count(1)
    expect(first).to_contain_text(newest.reference)
    expect(first.get_by_role("link", name=newest.title)).to_be_focused()
    expect(status).to_have_text(f"Ticket {newest.reference}: {newest.title}, 1 de 3")
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(status).to_have_text(f"Ticket {oldest.reference}: {oldest.title}, 3 de 3")
    page.keyboard.press("j")  # the last row stays chosen
    expect(status).to_have_text(f"Ticket {oldest.reference}: {oldest.title}, 3 de 3")
    page.keyboard.press("k")
    expect(status).to_have_text(f"Ticket {middle.reference}: {middle.title}, 2 de 3")
    expect(page.locator("tr.mesa-current")).to_contain_text(middle.reference)
    expect(page.locator("tr.mesa-current")).to_have_css("background-color", "rgba(0, 0, 0, 0)")
    expect(page.locator("tr.mesa-current > td").first).not_to_have_css(
        "background-color", "rgba(0, 0, 0, 0)"
    )  # the chosen row is seen, not only focused
    # with a modifier the key is the browser's, not a shortcut
    page.keyboard.press("Alt+j")
    expect(status).to_have_text(f"Ticket {middle.reference}: {middle.title}, 2 de 3")
    screenshot(page, "atajos-cola-elegido")
    assert blocking_violations(page) == []

    # Enter opens the chosen ticket
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/ticket/{middle.id}/")

    # r goes to the comment box; r and ? typed there are text
    _rest(page)
    page.keyboard.press("r")
    box = page.get_by_label("Nuevo comentario")
    expect(box).to_be_focused()
    page.keyboard.type("revisado?")
    expect(box).to_have_value("revisado?")
    expect(page.get_by_test_id("shortcuts-help")).to_be_hidden()

    # ? opens the help: modal, focus inside it, Escape closes it and gives the focus back
    _rest(page)
    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Atajos de teclado")
    expect(help_dialog).to_be_visible()
    for key in ("/", "j", "k", "r", "?"):
        expect(
            help_dialog.locator("kbd", has_text=re.compile(f"^{re.escape(key)}$"))
        ).to_be_visible()
    close = help_dialog.get_by_role("button", name="Cerrar")
    expect(close).to_be_focused()
    for _ in range(3):
        page.keyboard.press("Tab")
        assert page.evaluate("() => !!document.activeElement.closest('dialog')")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("() => !!document.activeElement.closest('dialog')")
    # the rest of the page is inert while it is open
    page.keyboard.press("j")
    expect(page.get_by_label("Nuevo comentario")).to_have_value("revisado?")
    screenshot(page, "atajos-ayuda")
    assert blocking_violations(page) == []
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()
    expect(page.locator("main")).to_be_focused()


def test_the_hint_shows_at_the_first_tab_and_opens_the_help(site, tickets):
    page = site.page_as("focal")
    page.goto("/cola/")
    hint = page.get_by_role("button", name="Pulse ? para ver los atajos")
    # out of sight until the keyboard reaches it: the second stop, after the skip link
    box = hint.bounding_box()
    assert box is None or box["x"] + box["width"] <= 0, box
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Saltar al contenido")).to_be_focused()
    page.keyboard.press("Tab")
    expect(hint).to_be_focused()
    box = hint.bounding_box()
    assert box["x"] >= 0 and box["y"] >= 0, box
    screenshot(page, "atajos-aviso")
    page.keyboard.press("Enter")
    help_dialog = page.get_by_role("dialog", name="Atajos de teclado")
    expect(help_dialog).to_be_visible()
    help_dialog.get_by_role("button", name="Cerrar").click()
    expect(help_dialog).to_be_hidden()
    expect(hint).to_be_focused()


def test_on_a_phone_the_shortcuts_work_on_the_cards(site, tickets):
    page = site.page_as("focal", viewport=PHONE)
    page.goto("/cola/")
    _rest(page)
    page.keyboard.press("k")  # from nowhere, k starts at the last card
    expect(_status(page)).to_have_text(f"Ticket {tickets[0].reference}: {tickets[0].title}, 3 de 3")
    # / unfolds the phone's menu to reach the search box
    _rest(page)
    page.keyboard.press("/")
    expect(page.locator("#menu-search-q")).to_be_visible()
    expect(page.locator("#menu-search-q")).to_be_focused()
    width = page.evaluate("() => document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], width
