"""The Content-Security-Policy blocks nothing Mesa itself uses: every page of every role
loads without a CSP violation in Chromium's console, and Flask-Admin's inline handlers
(filter menu, bulk actions) still work under it.
"""

import re

import pytest

from tests.browser.pages import agq_tool_pages, make_world, pages_of

pytestmark = pytest.mark.browser

CSP = re.compile(r"Content Security Policy|Content-Security-Policy", re.I)


@pytest.fixture
def world(site):
    return make_world(site.app)


def _watch(page) -> list[str]:
    """Every CSP complaint Chromium makes on `page`, with the URL it was on."""
    seen: list[str] = []
    page.on(
        "console",
        lambda message: (
            seen.append(f"{page.url}: {message.text}") if CSP.search(message.text) else None
        ),
    )
    return seen


@pytest.mark.parametrize("role", ["interno", "agq"])  # focal's pages are a subset of both
def test_no_page_breaks_the_content_security_policy(site, world, role):
    page = site.page_as(role)
    violations = _watch(page)
    paths = pages_of(page, role, world) + (agq_tool_pages(world) if role == "agq" else [])
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, path
        assert "default-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("load")
    assert violations == []


def test_flask_admin_inline_handlers_run_under_the_policy(site, world):
    page = site.page_as("agq")
    violations = _watch(page)
    alerts: list[str] = []

    def answer(dialog):
        alerts.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", answer)
    page.goto("/correo-saliente/")
    # bulk action with nothing selected: actions.js says so (its inline onclick ran)
    page.get_by_role("button", name=re.compile("Con seleccionados|With selected")).click()
    page.locator(".dropdown-menu a.dropdown-item", has_text="Reenviar").click()
    page.wait_for_timeout(200)
    assert len(alerts) == 1
    assert page.url.endswith("/correo-saliente/")  # no javascript: navigation happened
    # a filter menu item adds its filter row (its inline `return false;` ran)
    page.get_by_role("link", name=re.compile("Añadir filtro|Add Filter")).click()
    page.locator("a.dropdown-item.filter").first.click()
    assert page.locator(".filter-op, select.filter-op").count() >= 1
    assert violations == []
