"""End to end in Chromium: the knowledge base spares a ticket, and an agent links to it.

An internal user types a new ticket's title, is offered a seeded article, reads it, says
it helped and leaves without opening the ticket: the AIQ and the AGQ see one ticket not
opened. The second time the same person opens the ticket anyway, in one click, and the
count stays. A focal user inserts a link to an article into a reply.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_axe import blocking_violations, with_axe
from tests.conftest import make_ticket
from ticketing.models import Article, Deflection, Ticket

pytestmark = pytest.mark.browser

ARTICLE = "Cómo solicitar el paso al ambiente de producción"
FIGURES = "Sugerencias leídas: {n} · Tickets no abiertos después: {m}"


def _support_form(page):
    page.get_by_role("link", name="Nuevo ticket").first.click()
    page.get_by_role("link", name="Soporte de primer nivel").click()
    expect(page.get_by_test_id("ticket-form")).to_be_visible()


def _figures(site, key):
    page = site.page_as(key)
    page.get_by_role("link", name="Ayuda", exact=True).click()
    return page


def test_a_suggested_article_spares_a_ticket_then_a_ticket_is_opened_anyway(site):
    interno = with_axe(site.page_as("interno"))
    _support_form(interno)
    suggestions = interno.get_by_test_id("suggestions")
    title = interno.get_by_label("Título")
    title.press_sequentially("¿Cómo pido el paso a producción?", delay=20)
    expect(suggestions.get_by_role("link", name=ARTICLE)).to_be_visible()
    expect(interno.get_by_test_id("suggestions-region")).to_contain_text(
        re.compile(r"artículos? podrían? responder su pregunta")
    )
    assert blocking_violations(interno) == []
    screenshot(interno, "kb-01-sugerencias")
    token = interno.locator("[name='deflection_token']").input_value()

    # reads it: the page says so, and it helped
    suggestions.get_by_role("link", name=ARTICLE).click()
    expect(interno.get_by_test_id("article-title")).to_have_text(ARTICLE)
    expect(interno.locator("[data-deflection-read][data-recorded='1']")).to_have_count(1)
    interno.get_by_role("button", name=re.compile(r"^Sí")).click()
    expect(interno.get_by_role("status").first).to_contain_text("Gracias por su respuesta.")
    expect(interno.get_by_test_id("helpful")).to_have_text("1")
    assert blocking_violations(interno) == []
    screenshot(interno, "kb-02-articulo-util")
    assert Article.get(Article.title == ARTICLE).helpful == 1

    # and leaves without opening a ticket
    interno.get_by_role("link", name="Mis tickets").click()
    assert Ticket.select().count() == 0
    assert Deflection.get(Deflection.token == token).ticket_id is None
    aiq = _figures(site, "aiq")
    expect(aiq.get_by_test_id("deflection-figures")).to_have_text(FIGURES.format(n=1, m=1))
    screenshot(aiq, "kb-03-cifras-aiq")
    agq = _figures(site, "agq")
    expect(agq.get_by_test_id("deflection-figures")).to_have_text(FIGURES.format(n=1, m=1))

    # the second time: reads a suggestion, comes back, and opens the ticket in one click
    _support_form(interno)
    interno.get_by_label("Título").press_sequentially("Paso a producción", delay=20)
    expect(suggestions.get_by_role("link", name=ARTICLE)).to_be_visible()
    second = interno.locator("[name='deflection_token']").input_value()
    assert second != token
    suggestions.get_by_role("link", name=ARTICLE).click()
    expect(interno.locator("[data-deflection-read][data-recorded='1']")).to_have_count(1)
    interno.go_back()
    expect(interno.get_by_test_id("ticket-form")).to_be_visible()
    assert interno.locator("[name='deflection_token']").input_value() == second
    interno.get_by_label("Título").fill("Paso a producción: no sé a quién escribir")
    interno.get_by_label("Categoría").select_option(label="Consulta")
    interno.get_by_label("Módulo de Quipux").select_option(label="Administración")
    interno.get_by_label("Descripción").fill("Leí el artículo y aún tengo dudas.")
    interno.get_by_role("button", name="Enviar").click()
    expect(interno.get_by_role("status").first).to_contain_text("registrado")
    ticket = Ticket.get(Ticket.title == "Paso a producción: no sé a quién escribir")
    assert Deflection.get(Deflection.token == second).ticket_id == ticket.id
    aiq.reload()
    expect(aiq.get_by_test_id("deflection-figures")).to_have_text(FIGURES.format(n=2, m=1))


def test_a_focal_user_links_an_article_in_a_reply(site):
    ticket = make_ticket(title="¿A quién escribo si la mesa de ayuda no lo resuelve?")
    focal = with_axe(site.page_as("focal"))
    focal.goto(f"/ticket/{ticket.id}/")
    comment = focal.get_by_label("Nuevo comentario")
    comment.fill("Hola. Vea: ")
    picker = focal.get_by_label("Insertar enlace a un artículo")
    picker.fill("qu")
    focal.get_by_role("button", name="Buscar artículo").click()
    expect(focal.get_by_text("Escriba al menos 3 letras.")).to_be_visible()
    focal.mouse.move(0, 0)  # no hover: axe reads the button's resting colours below
    picker.fill("quién escribir")
    picker.press("Enter")  # searches; the comment is not sent
    target = "¿A quién escribir cuando tengo un problema con Quipux?"
    choice = focal.get_by_test_id("article-links").get_by_role(
        "button", name=f"Insertar enlace a «{target}»"
    )
    expect(choice).to_be_visible()
    assert blocking_violations(focal) == []
    choice.click()
    article = Article.get(Article.title == target)
    link = f"[{target}](http://mesa.test/ayuda/{article.id})"
    expect(comment).to_have_value(f"Hola. Vea: {link}")
    assert ticket.comments.count() == 0
    screenshot(focal, "kb-04-enlace-en-respuesta")
    focal.get_by_role("button", name="Comentar").click()
    # the comment shows the Markdown link as a link to the article
    posted = focal.get_by_test_id("comment").last.get_by_role("link", name=target)
    expect(posted).to_have_attribute("href", f"http://mesa.test/ayuda/{article.id}")
