"""In Chromium, the issue's "done when" for the designer: an AGQ builds a ticket type by
clicking and typing; an internal user opens one and has a wrong cédula refused; a focal
user is refused the guarded transition until the checklist is complete."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot

pytestmark = pytest.mark.browser

ITEMS = ["Firma escaneada recibida", "Certificado verificado", "Usuario notificado"]
CHECKLIST_GUARD = "Todos los ítems obligatorios de la lista de verificación están cumplidos"


def _row(page, name):
    """A row of the designer (a fieldset named by its legend: 'Campo 1', 'Ítem 2'...)."""
    return page.get_by_role("group", name=name, exact=True)


def test_agq_designs_a_type_interno_opens_one_focal_closes_it_after_the_checklist(site):
    agq = site.page_as("agq")
    agq.get_by_role("button", name="Configuración").click()  # the menu group
    agq.get_by_role("link", name="Diseñador").click()
    expect(agq.get_by_role("heading", level=1)).to_have_text("Diseñador de tipos de ticket")
    expect(agq.get_by_test_id("type-soporte")).to_be_visible()
    screenshot(agq, "designer-01-tipos")
    agq.get_by_role("link", name="Nuevo tipo de ticket").click()

    # general data: who may open it and where it lands
    expect(agq.get_by_role("textbox", name="Nombre", exact=True)).to_be_focused()
    agq.keyboard.type("Registro de firma electrónica")
    agq.get_by_label("Descripción").fill("Alta de la firma electrónica de una persona.")
    agq.get_by_label("Cola a la que llega").select_option(
        label="Primer nivel: mesa de ayuda de la institución"
    )
    agq.get_by_role("group", name="Quién puede abrirlo").get_by_label("Usuario interno").check()

    # a required cédula field
    field = _row(agq, "Campo 1")
    field.get_by_label("Etiqueta", exact=True).fill("Número de cédula")
    field.get_by_label("Tipo de campo").select_option(label="Cédula")
    field.get_by_label("Obligatorio").check()

    # three checklist items, one row at a time; the keyboard lands on each new row
    _row(agq, "Ítem 1").get_by_label("Etiqueta", exact=True).fill(ITEMS[0])
    for number, label in enumerate(ITEMS[1:], start=2):
        agq.get_by_role("button", name="Agregar ítem").click()
        new_label = _row(agq, f"Ítem {number}").get_by_label("Etiqueta", exact=True)
        expect(new_label).to_be_focused()
        agq.keyboard.type(label)
    expect(_row(agq, "Ítem 1").get_by_label("Etiqueta", exact=True)).to_have_value(ITEMS[0])

    # the workflow: abierto (initial, open) → cerrado (done)
    state = _row(agq, "Estado 1")
    state.get_by_label("Etiqueta", exact=True).fill("Abierto")
    state.get_by_label("Categoría").select_option(label="Abierto")
    agq.get_by_role("button", name="Agregar estado").click()
    state = _row(agq, "Estado 2")
    state.get_by_label("Etiqueta", exact=True).fill("Cerrado")
    state.get_by_label("Categoría").select_option(label="Resuelto (cierra el ticket)")
    agq.get_by_role("button", name="Agregar transición").click()
    transition = _row(agq, "Transición 1")
    expect(transition.get_by_label("Etiqueta del botón")).to_be_focused()
    agq.keyboard.type("Cerrar")
    transition.get_by_role("group", name="Desde los estados").get_by_label(
        "Abierto (abierto)"
    ).check()
    transition.get_by_label("Hacia el estado").select_option(label="Cerrado (cerrado)")
    transition.get_by_role("group", name="Quién puede hacerla").get_by_label(
        "Usuario focal"
    ).check()
    transition.get_by_role("group", name="Condiciones").get_by_label(CHECKLIST_GUARD).check()
    screenshot(agq, "designer-02-tipo-nuevo")
    agq.get_by_role("button", name="Guardar").first.click()

    # no initial state yet: refused, saying where, with everything typed still there
    errors = agq.get_by_test_id("designer-errors")
    expect(errors).to_be_focused()
    expect(errors.get_by_role("listitem")).to_have_text(
        ["Estados: debe haber exactamente un estado inicial"]
    )
    expect(_row(agq, "Ítem 3").get_by_label("Etiqueta", exact=True)).to_have_value(ITEMS[2])
    screenshot(agq, "designer-03-tipo-rechazado")
    _row(agq, "Estado 1").get_by_label("Estado inicial").check()
    agq.get_by_role("button", name="Guardar").last.click()

    expect(agq.get_by_role("status").first).to_contain_text(
        "Tipo «Registro de firma electrónica» guardado (versión 1)."
    )
    expect(agq.get_by_test_id("type-usage")).to_contain_text("Versión 1 · 0 ticket(s)")
    agq.get_by_role("link", name="Vista previa del formulario guardado").click()
    expect(agq.get_by_label("Número de cédula")).to_be_visible()
    screenshot(agq, "designer-04-vista-previa")

    # the internal user opens one: a wrong cédula is refused beside the field
    interno = site.page_as("interno")
    interno.get_by_role("link", name="Nuevo ticket").first.click()
    interno.get_by_role("link", name="Registro de firma electrónica").click()
    interno.get_by_label("Título").fill("Firma de Ana Torres")
    interno.get_by_label("Número de cédula").fill("1710034066")
    interno.get_by_role("button", name="Enviar").click()
    cedula = interno.get_by_label("Número de cédula")
    expect(cedula).to_have_attribute("aria-invalid", "true")
    expect(cedula).to_have_accessible_description(
        re.compile("La cédula no es válida: revise sus 10 dígitos.")
    )
    expect(interno.locator("#f_numero_de_cedula-error")).to_have_text(
        "La cédula no es válida: revise sus 10 dígitos."
    )
    screenshot(interno, "designer-05-cedula-rechazada")
    cedula.fill("1710034065")
    interno.get_by_role("button", name="Enviar").click()
    expect(interno.get_by_role("status").first).to_contain_text("registrado")
    expect(interno.get_by_test_id("ticket-state")).to_have_text("Abierto")
    ticket_url = re.search(r"/ticket/\d+/", interno.url).group(0)

    # the focal user: "Cerrar" is refused, saying the checklist is incomplete
    focal = site.page_as("focal")
    focal.goto(ticket_url)
    close = focal.get_by_role("button", name="Cerrar", exact=True)
    expect(close).to_be_disabled()
    expect(focal.get_by_test_id("why-cerrar")).to_have_text(
        "Faltan ítems de la lista de verificación: " + "; ".join(ITEMS)
    )
    expect(close).to_have_accessible_description(re.compile("Faltan ítems"))
    screenshot(focal, "designer-06-transicion-rechazada")
    for number, label in enumerate(ITEMS, start=1):
        focal.get_by_role("button", name=f"Marcar cumplido «{label}»").click()
        expect(focal.get_by_role("button", name=f"Desmarcar «{label}»")).to_be_visible()
        if number < len(ITEMS):
            expect(close).to_be_disabled()
    expect(close).to_be_enabled()
    close.click()
    expect(focal.get_by_test_id("ticket-state")).to_have_text("Cerrado")
    expect(focal.get_by_test_id("history")).to_contain_text("Cerrar: Abierto → Cerrado")
    screenshot(focal, "designer-07-transicion-permitida")


UNLABELLED_OR_TOO_WIDE = """() => {
  const shown = (el) => el.getClientRects().length > 0;
  const named = (el) => [...(el.labels || [])].some((l) => l.textContent.trim())
      || (el.getAttribute('aria-label') || '').trim();
  const unlabelled = [...document.querySelectorAll('main input, main select, main textarea')]
      .filter((el) => el.type !== 'hidden' && el.type !== 'submit' && shown(el) && !named(el))
      .map((el) => el.outerHTML.slice(0, 120));
  return {unlabelled, wide: document.documentElement.scrollWidth > window.innerWidth + 1};
}"""


def test_every_designer_page_is_labelled_and_fits_a_phone(site):
    from ticketing.models import TicketType

    support = TicketType.get(TicketType.slug == "soporte").id
    page = site.page_as("agq", viewport={"width": 375, "height": 740})
    for path in (
        "/disenador/",
        "/disenador/nuevo",
        f"/disenador/{support}/",
        f"/disenador/{support}/vista-previa",
        "/disenador/proceso",
    ):
        assert page.goto(path).status == 200, path
        page.locator("details").evaluate_all("(all) => all.forEach((d) => (d.open = true))")
        found = page.evaluate(UNLABELLED_OR_TOO_WIDE)
        assert found == {"unlabelled": [], "wide": False}, (path, found)
    screenshot(page, "designer-08-proceso-telefono")
