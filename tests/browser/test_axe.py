"""WCAG 2 A/AA, checked by axe-core in Chromium: every page of every role (and the sign-in
pages, anonymously) has no serious or critical violation — colour contrast, names, ids,
landmarks. One viewport (1280 px) and one browser context per role keep the sweep cheap;
the phone widths are covered by test_accessibility.py.
"""

import pytest
from axe_playwright_python.base import AXE_SCRIPT

from tests.browser.conftest import DESKTOP, screenshot
from tests.browser.pages import agq_tool_pages, make_world, pages_of, path_of

pytestmark = pytest.mark.browser

WCAG_AA = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
    "resultTypes": ["violations"],
}
BLOCKING = ("serious", "critical")
# Collapsed <details> (designer rows, help, history) hide content axe would not check.
OPEN_DETAILS = "() => document.querySelectorAll('details').forEach((d) => (d.open = true))"


@pytest.fixture
def world(site):
    return make_world(site.app)


def with_axe(page):
    """Load axe-core into every page the context opens from now on (half the cost of
    sending the script after each navigation)."""
    page.context.add_init_script(script=AXE_SCRIPT)
    return page


def blocking_violations(page) -> list[str]:
    """Each serious or critical WCAG A/AA violation on the page: rule, impact, targets."""
    page.evaluate(OPEN_DETAILS)
    # colours read mid-transition (a hover fading, an alert fading in) are neither state:
    # let the pointer rest off the page's controls and every running transition finish
    page.mouse.move(0, 0)
    page.evaluate("() => Promise.all(document.getAnimations().map((a) => a.finished))")
    violations = page.evaluate("(options) => axe.run(document, options)", WCAG_AA)["violations"]
    return [
        f"{rule['id']} ({rule['impact']}): "
        + " | ".join(" ".join(map(str, node["target"])) for node in rule["nodes"])
        for rule in violations
        if rule["impact"] in BLOCKING
    ]


def _sweep(page, pages: list[str], name) -> dict[str, list[str]]:
    """Visit each page, screenshot it at 1280 px and return the pages with violations."""
    found = {}
    for path in pages:
        response = page.goto(path)
        if response.status != 200 or path_of(page.url) != path:  # broken, or sent elsewhere
            found[path] = [f"HTTP {response.status} at {path_of(page.url)}"]
            continue
        violations = blocking_violations(page)
        if violations:
            found[path] = violations
        screenshot(page, f"axe-{name(path)}")
    return found


def _report(found: dict[str, list[str]]) -> str:
    return "\n".join(f"{path}: {v}" for path, violations in found.items() for v in violations)


@pytest.mark.parametrize("role", ["interno", "focal", "aiq", "agq"])
def test_every_page_of_each_role_passes_axe_wcag_aa(site, world, role):
    page = with_axe(site.page_as(role, viewport=DESKTOP))
    pages = pages_of(page, role, world) + (agq_tool_pages(world) if role == "agq" else [])
    found = _sweep(page, pages, lambda path: f"{role}-{world.page_name(path)}")
    assert not found, _report(found)
    assert len(pages) >= 7


def test_sign_in_pages_pass_axe_wcag_aa(site):
    context = site.browser.new_context(viewport=DESKTOP, locale="es-EC", base_url=site.url)
    site.contexts.append(context)
    page = with_axe(context.new_page())
    found = _sweep(page, ["/login", "/password/forgot"], lambda path: f"anonimo{path}")
    # a refused sign-in shows its alert over the form
    page.goto("/login")
    page.get_by_label("Correo electrónico").fill("nadie@example.ec")
    page.get_by_label("Contraseña", exact=True).fill("no-es-la-clave")
    page.get_by_role("button", name="Iniciar sesión").click()
    page.get_by_role("alert").first.wait_for()
    if violations := blocking_violations(page):
        found["/login (rechazado)"] = violations
    screenshot(page, "axe-anonimo-login-rechazado")
    assert not found, _report(found)


def test_form_errors_and_notices_pass_axe_wcag_aa(site):
    page = with_axe(site.page_as("interno", viewport=DESKTOP))
    page.goto("/nuevo/soporte/")
    page.get_by_role("button", name="Enviar").click()
    page.get_by_role("alert").first.wait_for()  # refused: invalid fields and their messages
    found = {}
    if violations := blocking_violations(page):
        found["/nuevo/soporte/ (errores)"] = violations
    screenshot(page, "axe-interno-formulario-errores")
    page.get_by_label("Título").fill("La bandeja de salida no carga")
    page.get_by_label("Categoría").select_option("incidente")
    page.get_by_label("Módulo de Quipux").select_option("firma_electronica")
    page.get_by_label("Descripción").fill("Desde ayer la bandeja de salida queda en blanco.")
    page.get_by_role("button", name="Enviar").click()
    page.get_by_role("status").first.wait_for()  # registered: the ticket page with its notice
    if violations := blocking_violations(page):
        found["/ticket/ (registrado)"] = violations
    screenshot(page, "axe-interno-ticket-registrado")
    assert not found, _report(found)
