"""Usable by everyone, checked in Chromium: every control of every main page has an
accessible name, no page scrolls sideways on a 375 px phone, and a form can be filled and
sent from the keyboard alone.

The pages of each role are listed in tests/browser/pages.py (its menu plus the deeper pages
the menu leads to), shared with the axe-core sweep in test_axe.py.
"""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.browser.pages import make_world, pages_of, path_of
from tests.conftest import user
from ticketing.models import Ticket

pytestmark = pytest.mark.browser


@pytest.fixture
def world(site):
    return make_world(site.app)


# Controls without a name: no <label> tied to them, no aria-label, no aria-labelledby
# pointing at text (a placeholder or title is not a label). Buttons and links: no text,
# aria-label, aria-labelledby or title. Only what is rendered (not hidden) counts.
UNNAMED = """() => {
  const shown = (el) => el.getClientRects().length > 0
      && getComputedStyle(el).visibility !== 'hidden';
  const text = (el) => (el.textContent || '').replace(/\\s+/g, ' ').trim();
  const attr = (el, name) => (el.getAttribute(name) || '').trim();
  const labelledBy = (el) => attr(el, 'aria-labelledby').split(/\\s+/).filter(Boolean)
      .some((id) => { const t = document.getElementById(id); return t && text(t); });
  const describe = (el) => el.outerHTML.slice(0, 160);
  const pressable = ['submit', 'button', 'reset', 'image'];
  const controls = [...document.querySelectorAll('input, select, textarea')]
      .filter((el) => el.type !== 'hidden' && !pressable.includes(el.type) && shown(el))
      .filter((el) => !(attr(el, 'aria-label') || labelledBy(el)
                        || [...(el.labels || [])].some((l) => text(l))));
  const actions = [...document.querySelectorAll(
      'button, a[href], [role=button], input[type=submit], input[type=button],'
      + ' input[type=reset], input[type=image]')]
      .filter(shown)
      .filter((el) => !(text(el) || attr(el, 'aria-label') || labelledBy(el)
                        || attr(el, 'title') || (el.tagName === 'INPUT' && attr(el, 'value'))
                        || (el.type === 'image' && attr(el, 'alt'))
                        || el.querySelector('img[alt]:not([alt=""]), svg[aria-label]')));
  return [...controls, ...actions].map(describe);
}"""

OVERFLOW = """() => ({
  scrollWidth: document.documentElement.scrollWidth,
  innerWidth: window.innerWidth,
  wide: [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1)
      .filter((el) => !el.closest('.table-responsive, .table-responsive-sm, pre, .mesa-scroll'))
      .filter((el) => ![...el.children].some(
          (child) => child.getBoundingClientRect().right > window.innerWidth + 1))
      .slice(0, 5).map((el) => el.outerHTML.slice(0, 160)),
})"""


@pytest.mark.parametrize("role", ["interno", "focal", "aiq", "agq"])
def test_every_page_of_each_role_is_labelled_and_fits_a_phone(site, world, role):
    page = site.page_as(role, viewport=PHONE)
    pages = pages_of(page, role, world)
    problems = {path: _check(page, role, path, world.page_name(path)) for path in pages}
    problems = {path: found for path, found in problems.items() if found}
    assert not problems, "\n".join(
        f"{path}: {what}: {detail}" for path, found in problems.items() for what, detail in found
    )
    assert len(pages) >= 7


def _check(page, role: str, path: str, name: str) -> list:
    """What keeps `path` from being usable: unnamed controls (phone and desktop widths),
    sideways scrolling on a phone. Saves the phone-width screenshot."""
    page.set_viewport_size(PHONE)
    response = page.goto(path)
    assert response.status == 200, (role, path, response.status)
    assert path_of(page.url) == path, (role, path, page.url)  # not sent elsewhere
    expect(page.locator("main h1").first).to_be_visible()
    found = []
    unnamed = page.evaluate(UNNAMED)
    if unnamed:
        found.append(("sin nombre accesible (375 px)", unnamed))
    fit = page.evaluate(OVERFLOW)
    if fit["scrollWidth"] > fit["innerWidth"] + 1:
        found.append(("desborde horizontal", fit))
    screenshot(page, f"a11y-{role}-{name}")
    page.set_viewport_size(DESKTOP)  # what a wide screen shows must be named too
    unnamed = page.evaluate(UNNAMED)
    if unnamed:
        found.append(("sin nombre accesible (1280 px)", unnamed))
    return found


def _focused(page) -> dict:
    return page.evaluate(
        """() => {
          const el = document.activeElement;
          const label = el.labels && el.labels.length ? el.labels[0].textContent : '';
          const style = getComputedStyle(el);
          return {
            tag: el.tagName.toLowerCase(),
            name: (label || el.getAttribute('aria-label') || el.textContent || '')
                .replace(/\\s+/g, ' ').replace('*', '').trim(),
            outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
            invalid: el.getAttribute('aria-invalid'),
          };
        }"""
    )


def _tab_to(page, name: str, limit: int = 60) -> dict:
    """Press Tab until the focus is on the control or link named `name`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = _focused(page)
        if focused["name"] == name:
            assert focused["outline"], f"no visible focus ring on {name!r}"
            return focused
    raise AssertionError(f"{name!r} is not reachable with Tab")


def test_internal_user_raises_a_ticket_with_the_keyboard_alone(site, world):
    page = site.page_as("interno")
    page.goto("/")
    # the first Tab offers the skip link, which takes the focus to the content
    page.keyboard.press("Tab")
    assert _focused(page)["name"] == "Saltar al contenido"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "contenido"
    _tab_to(page, "Soporte de primer nivel")
    page.keyboard.press("Enter")
    page.wait_for_url("**/nuevo/soporte/")
    screenshot(page, "a11y-teclado-01-formulario")

    # sent empty: refused, and the focus lands on the first field to fix, marked invalid
    _tab_to(page, "Enviar")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert").first).to_contain_text("Revise los campos marcados.")
    # autofocus is applied on a frame after the page is shown: wait for it, then check
    expect(page.locator("[autofocus]")).to_be_focused()
    focused = _focused(page)
    assert (focused["name"], focused["invalid"]) == ("Título", "true"), focused
    screenshot(page, "a11y-teclado-02-errores")

    # the title has the focus; every other field is one Tab further, in reading order
    page.keyboard.type("No puedo abrir la bandeja de entrada")
    page.keyboard.press("Tab")
    assert _focused(page)["name"] == "Categoría"
    page.keyboard.type("Incidente")
    page.keyboard.press("Tab")
    assert _focused(page)["name"] == "Módulo de Quipux"
    page.keyboard.type("Firma")
    page.keyboard.press("Tab")
    assert _focused(page)["name"] == "Descripción"
    page.keyboard.type("Desde esta mañana la bandeja aparece vacía.")
    page.keyboard.press("Tab")
    assert _focused(page)["name"] == "Captura o documento"
    page.keyboard.press("Tab")
    assert _focused(page)["name"] == "Enviar"
    screenshot(page, "a11y-teclado-03-lleno")
    page.keyboard.press("Enter")

    expect(page.get_by_role("status").first).to_contain_text("registrado")
    expect(page.get_by_test_id("ticket-title")).to_contain_text(
        "No puedo abrir la bandeja de entrada"
    )
    ticket = Ticket.get(Ticket.title == "No puedo abrir la bandeja de entrada")
    assert ticket.requester_id == user("interno").id
    assert ticket.fields["categoria"] == "incidente"
    assert ticket.fields["modulo"] == "firma_electronica", ticket.fields
    assert ticket.fields["descripcion"] == "Desde esta mañana la bandeja aparece vacía."
    screenshot(page, "a11y-teclado-04-registrado")


def test_the_menu_opens_from_the_keyboard_on_a_phone(site, world):
    page = site.page_as("focal", viewport=PHONE)
    page.goto("/")
    toggle = page.get_by_role("button", name="Abrir el menú")
    expect(toggle).to_be_visible()
    menu = page.get_by_role("navigation", name="Menú principal")
    expect(menu.get_by_role("link", name="Cola", exact=True)).to_be_hidden()
    _tab_to(page, "Abrir el menú")
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(menu.get_by_role("link", name="Cola", exact=True)).to_be_visible()
    screenshot(page, "a11y-telefono-menu-abierto")
    _tab_to(page, "Cola")
    page.keyboard.press("Enter")
    page.wait_for_url("**/cola/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Cola de la mesa de ayuda de INSTA")
