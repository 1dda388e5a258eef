"""The focal user's working day, end to end in Chromium, on a phone and on a desk.

She selects three new tickets in Cola and assigns them to herself in one go; answers one
with SGE's canned reply (Markdown, filled with the requester's name) plus a pasted
screenshot, resolving it in the same step; is told in the app that the AIQ mentioned her in
an internal note; and, once SGE has answered an escalation, confirms the answer with the
requester. Every page on the way passes axe-core (WCAG A/AA) and nothing scrolls sideways.
"""

import base64
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.browser.test_axe import blocking_violations, with_axe
from tests.browser.test_rich_text_flow import PASTE
from tests.conftest import make_ticket, user
from tests.test_files import PNG
from ticketing import services
from ticketing.models import Comment, Ticket

pytestmark = pytest.mark.browser

REPLY = "Restablecer contraseña de Quipux"  # seeds/replies.yaml: answers and resolves


def _no_sideways_scroll(page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page is {width} px wide"


def _check(page, name: str) -> None:
    _no_sideways_scroll(page)
    assert blocking_violations(page) == []
    screenshot(page, name)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["telefono", "escritorio"])
def test_a_focal_users_day(site, viewport):
    size = "telefono" if viewport is PHONE else "escritorio"
    with site.app.test_request_context():
        tickets = [
            make_ticket(user("interno"), title=title)
            for title in (
                "Olvidé mi contraseña de Quipux",
                "No veo la bandeja de salida",
                "El documento firmado no llega",
            )
        ]
        ids = [t.id for t in tickets]
        refs = [t.reference for t in tickets]
        requester = user("interno").full_name

    focal = with_axe(site.page_as("focal", viewport=viewport))

    # 1. three new tickets, selected and assigned to herself in one action
    focal.goto("/cola/?view=unassigned")
    for ref in refs:
        box = focal.get_by_label(f"Seleccionar {ref}")
        box.focus()
        focal.keyboard.press("Space")  # keyboard-accessible checkboxes
        expect(box).to_be_checked()
    if viewport is PHONE:  # on a phone the bulk form folds, as the filters do
        focal.get_by_text("Acciones en lote").focus()
        focal.keyboard.press("Enter")
    focal.get_by_label("Acción", exact=True).select_option(label="Asignarme")
    _check(focal, f"dia-{size}-01-cola-seleccion")
    focal.get_by_role("button", name="Aplicar").click()
    expect(focal.get_by_text(f"Hecho en 3 ticket(s): {', '.join(reversed(refs))}.")).to_be_visible()
    focal.goto("/cola/?view=mine")
    for ref in refs:
        expect(focal.get_by_role("link", name=ref, exact=True)).to_be_visible()
    _check(focal, f"dia-{size}-02-asignados-a-mi")
    with site.app.test_request_context():
        assert {Ticket.get_by_id(i).assignee_id for i in ids} == {user("focal").id}

    # 2. the first answered with a canned reply, a pasted screenshot, and resolved at once
    focal.goto(f"/ticket/{ids[0]}/")
    picker = focal.get_by_label("Respuesta predefinida")
    picker.fill(REPLY[:11])  # typing offers the matching names
    picker.fill(REPLY)
    if viewport is PHONE:
        picker.press("Enter")  # the keyboard's way
    else:
        focal.get_by_role("button", name="Insertar").click()
    body = focal.get_by_label("Nuevo comentario")
    expect(body).to_have_value(re.compile(rf"^Estimado/a {re.escape(requester)}:"))
    expect(body).to_have_value(re.compile(re.escape(f"reabriremos **{refs[0]}**")))
    expect(focal.get_by_text(f"Respuesta «{REPLY}» insertada en el comentario.")).to_be_attached()
    assert focal.evaluate(PASTE, base64.b64encode(PNG).decode("ascii"))
    then = focal.get_by_label("Responder y «Resolver»")
    expect(then).to_be_checked()
    _check(focal, f"dia-{size}-03-respuesta-predefinida")
    focal.get_by_role("button", name="Comentar").click()
    expect(focal.get_by_test_id("ticket-state")).to_have_text("Resuelto")
    answer = focal.get_by_test_id("comment").last
    expect(answer.locator("strong").first).to_have_text("¿Olvidó su contraseña?")
    expect(answer.locator("ol li")).to_have_count(3)
    thumbnail = answer.locator("img")
    expect(thumbnail).to_have_count(1)
    assert thumbnail.evaluate("img => img.decode().then(() => img.naturalWidth)") == 1
    _check(focal, f"dia-{size}-04-respondido-y-resuelto")
    with site.app.test_request_context():
        stored = Comment.select().where(Comment.ticket == ids[0]).order_by(Comment.id).first()
        assert stored.body.startswith(f"Estimado/a {requester}:")

    # 3. the AIQ names her in an internal note: the bell tells her, and only her
    with site.app.test_request_context():
        unread = services.unread_count(user("focal"))
        others = {k: services.unread_count(user(k)) for k in ("interno", "aiq_b", "focal_b")}
        services.add_comment(
            user("aiq"), ids[1], "@focal ¿puedes revisar sus permisos?", internal=True
        )
    focal.goto("/")
    if viewport is PHONE:  # on a phone the bell sits in the folded menu
        focal.get_by_role("button", name="Abrir el menú").click()
    bell = focal.get_by_test_id("bell")
    expect(bell).to_have_accessible_name(f"Avisos, {unread + 1} sin leer")
    with site.app.test_request_context():
        assert {k: services.unread_count(user(k)) for k in others} == others
    bell.click()
    expect(focal).to_have_url(f"{site.url}/avisos/")
    notices = focal.get_by_test_id("notices")
    expect(notices).to_contain_text("Le mencionaron en una nota interna")
    expect(notices).to_contain_text("¿puedes revisar sus permisos?")
    _check(focal, f"dia-{size}-05-mencion")
    mention = notices.get_by_role("link", name=re.compile(f"Le mencionaron.*{refs[1]}"))
    mention.click()
    expect(focal).to_have_url(f"{site.url}/ticket/{ids[1]}/")
    with site.app.test_request_context():
        assert services.unread_count(user("focal")) < unread + 1  # opened: read

    # 4. the third escalated; SGE answers; she confirms the answer with the requester
    focal.goto(f"/ticket/{ids[2]}/")
    focal.get_by_label("Comentario para «Escalar a SGE»").fill("El documento no llega al destino.")
    focal.get_by_role("button", name="Escalar a SGE").click()
    expect(focal.get_by_test_id("ticket-state")).to_have_text("Esperando a SGE")
    with site.app.test_request_context():
        escalation = Ticket.get(Ticket.parent == ids[2])
        services.transition(
            user("agq"), escalation.id, "resolver", comment="Se reenvió desde el servidor."
        )
    focal.reload()
    expect(focal.get_by_test_id("ticket-state")).to_have_text("Por confirmar")
    expect(focal.get_by_test_id("comment").last).to_contain_text("Se reenvió desde el servidor.")
    _check(focal, f"dia-{size}-06-por-confirmar")
    focal.get_by_role("button", name="Sí, se resolvió").click()
    expect(focal.get_by_test_id("ticket-state")).to_have_text("Resuelto")
    expect(focal.get_by_test_id("history")).to_contain_text(
        "Sí, se resolvió: Por confirmar → Resuelto"
    )
    _check(focal, f"dia-{size}-07-confirmado")
