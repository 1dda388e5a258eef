"""End to end in Chromium: the AIQ asks for production, the AGQ reviews it against the
plantilla de seguimiento, is refused while an item is unmet, completes it and approves."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.rollout import rollout_to_step_5
from ticketing.models import Institution, Ticket, TrackingItem

pytestmark = pytest.mark.browser

APPROVE = "Aprobar el paso a producción"
TITLE = "Paso a producción — MINTUR"


@pytest.fixture
def rollout(site):
    """MINTUR at step 5: parametrization in the training environment completed."""
    with site.app.test_request_context():  # the services speak Spanish: babel needs one
        return rollout_to_step_5()


def _ticket_id(page) -> int:
    return int(re.search(r"/ticket/(\d+)/", page.url).group(1))


def _post_transition_anyway(page, ticket_id: int, name: str) -> None:
    """Submit a transition the page does not offer, as a stale or hand-made form would."""
    with page.expect_navigation():
        page.evaluate(
            """([action, name]) => {
                const form = document.createElement('form');
                form.method = 'post';
                form.action = action;
                const fields = {
                    csrf_token: document.querySelector('input[name=csrf_token]').value,
                    name: name,
                };
                for (const [key, value] of Object.entries(fields)) {
                    const input = document.createElement('input');
                    input.type = 'hidden';
                    input.name = key;
                    input.value = value;
                    form.appendChild(input);
                }
                document.body.appendChild(form);
                form.submit();
            }""",
            [f"/ticket/{ticket_id}/transition", name],
        )


def _mark_met(page, item: TrackingItem, note: str = "") -> None:
    """Mark one item met on the plantilla page; each control names the item it acts on."""
    if note:
        page.get_by_label(f"Observación sobre «{item.label}»").fill(note)
    page.get_by_role("button", name=f"Marcar cumplido «{item.label}»").click()
    expect(page.get_by_role("status").first).to_contain_text("Ítem marcado como cumplido.")
    expect(page.get_by_test_id(f"tracking-{item.id}")).to_contain_text("Cumplido")


def test_aiq_asks_for_production_agq_refused_until_plantilla_met_then_approves(site, rollout):
    institution = rollout.institution
    items = list(institution.tracking_items.order_by(TrackingItem.order))
    assert len(items) >= 2 and not any(item.met for item in items)

    # -- step 5: the AIQ asks for production from Nuevo ticket
    aiq = site.page_as(rollout.aiq_key)
    aiq.get_by_role("link", name="Nuevo ticket").first.click()
    aiq.get_by_role("link", name="Paso a producción").click()
    expect(aiq.get_by_role("heading", level=1)).to_have_text("Nuevo ticket: Paso a producción")
    aiq.get_by_label("Título").fill(TITLE)
    aiq.get_by_label("Parametrización y formación realizadas").fill(
        "Parametrizadas áreas, usuarios y plantillas; 40 usuarios finales formados."
    )
    screenshot(aiq, "prod-01-aiq-formulario-paso-produccion")
    aiq.get_by_role("button", name="Enviar").click()
    expect(aiq.get_by_role("status").first).to_contain_text("registrado")
    expect(aiq.get_by_test_id("ticket-state")).to_have_text("Solicitado")
    ticket_id = _ticket_id(aiq)
    reference = f"MESA-{ticket_id}"
    assert Ticket.get_by_id(ticket_id).queue_level == 2
    assert Institution.get_by_id(institution.id).stage == "paso_produccion"

    # the AIQ cannot approve its own request: no button, and a hand-made POST is refused
    expect(aiq.get_by_role("button", name=APPROVE)).to_have_count(0)
    expect(aiq.get_by_test_id("transition-aprobar")).to_have_count(0)
    expect(
        aiq.get_by_text("No hay acciones que usted pueda realizar en este estado.")
    ).to_be_visible()
    screenshot(aiq, "prod-02-ticket-solicitado-aiq")
    _post_transition_anyway(aiq, ticket_id, "aprobar")
    expect(aiq.get_by_role("alert")).to_contain_text("Su rol no puede realizar esta acción.")
    expect(aiq.get_by_test_id("ticket-state")).to_have_text("Solicitado")

    # -- step 6: the AGQ finds it in SGE's queue and takes it into review
    agq = site.page_as("agq")
    agq.get_by_role("link", name="Cola", exact=True).click()
    expect(agq.get_by_role("heading", level=1)).to_have_text("Cola de SGE (segundo nivel)")
    row = agq.locator("tr", has=agq.get_by_role("link", name=reference))
    expect(row).to_contain_text("MINTUR")
    expect(row).to_contain_text("Solicitado")
    screenshot(agq, "prod-03-cola-sge")
    agq.get_by_role("link", name=TITLE).click()
    agq.get_by_role("button", name="Revisar").click()
    expect(agq.get_by_test_id("ticket-state")).to_have_text("En revisión")

    # approval is offered but disabled, saying which items of the plantilla are unmet
    approve = agq.get_by_role("button", name=APPROVE)
    expect(approve).to_be_disabled()
    why = agq.get_by_test_id("why-aprobar")
    expect(why).to_contain_text("La plantilla de seguimiento tiene ítems sin cumplir")
    for item in items:
        expect(why).to_contain_text(item.label)
    expect(approve).to_have_attribute("aria-describedby", "why-aprobar")
    screenshot(agq, "prod-04-ticket-antes-agq")

    # the plantilla, reached from the ticket: every item but the last one is verified
    agq.get_by_role("link", name="Plantilla de seguimiento de MINTUR").click()
    expect(agq.get_by_role("heading", level=1)).to_have_text("Plantilla de seguimiento · MINTUR")
    _mark_met(agq, items[0], note="Verificado en el ambiente de capacitación.")
    for item in items[1:-1]:
        _mark_met(agq, item)
    expect(agq.get_by_test_id(f"tracking-{items[0].id}")).to_contain_text(
        "Verificado en el ambiente de capacitación."
    )
    last = agq.get_by_test_id(f"tracking-{items[-1].id}")
    expect(last).to_contain_text("Pendiente")
    screenshot(agq, "prod-05-plantilla-un-item-pendiente")

    # back on the ticket: still refused, and the reason names only the unmet item
    agq.get_by_role("link", name=f"{reference} Paso a producción").click()
    expect(approve).to_be_disabled()
    expect(why).to_have_text(
        f"La plantilla de seguimiento tiene ítems sin cumplir: {items[-1].label}"
    )
    # a page left open from before, submitted anyway, is refused with the same reason
    _post_transition_anyway(agq, ticket_id, "aprobar")
    expect(agq.get_by_role("alert")).to_contain_text(
        f"La plantilla de seguimiento tiene ítems sin cumplir: {items[-1].label}"
    )
    expect(agq.get_by_test_id("ticket-state")).to_have_text("En revisión")
    assert Ticket.get_by_id(ticket_id).state == "en_revision"

    # the pipeline shows MINTUR in "Paso a producción"; its page leads to the plantilla
    agq.get_by_role("button", name="Instituciones").click()  # the menu group
    agq.get_by_role("link", name="Implantación").click()
    pipeline_row = agq.get_by_test_id("pipeline-row-MINTUR")
    expect(pipeline_row).to_contain_text("Paso a producción")
    expect(pipeline_row).to_contain_text(reference)
    screenshot(agq, "prod-06-pipeline-antes")
    pipeline_row.get_by_role("link", name="MINTUR").click()
    expect(agq.get_by_test_id("stage")).to_contain_text("Etapa actual: Paso a producción")
    agq.get_by_role("link", name="Revisar la plantilla").click()
    _mark_met(agq, items[-1], note="Usuarios finales capacitados (acta 12).")
    expect(agq.get_by_test_id("tracking-items")).not_to_contain_text("Pendiente")
    screenshot(agq, "prod-07-plantilla-cumplida")

    # with the plantilla met the approval goes through; production opens as the next step
    agq.get_by_role("link", name=f"{reference} Paso a producción").click()
    expect(approve).to_be_enabled()
    expect(why).to_have_count(0)
    approve.click()
    expect(agq.get_by_role("status").first).to_contain_text("Hecho.")
    expect(agq.get_by_test_id("ticket-state")).to_have_text("Aprobado")
    history = agq.get_by_test_id("history")
    expect(history).to_contain_text(f"{APPROVE}: En revisión → Aprobado")
    expect(history).to_contain_text("La institución pasó a la etapa «Producción»")
    expect(history).to_contain_text(f"Plantilla de seguimiento: «{items[-1].label}» cumplido")
    expect(agq.locator("section", has_text="Tickets vinculados")).to_contain_text(
        "Parametrización en producción — "
    )
    screenshot(agq, "prod-08-ticket-aprobado")

    # the institution is in production, on its page and in the pipeline
    agq.get_by_role("button", name="Instituciones").click()  # the menu group
    agq.get_by_role("link", name="Implantación").click()
    expect(agq.get_by_test_id("pipeline-row-MINTUR")).to_contain_text("Producción")
    expect(agq.get_by_test_id("pipeline-row-MINTUR")).not_to_contain_text("Paso a producción")
    screenshot(agq, "prod-09-pipeline-produccion")
    agq.get_by_test_id("pipeline-row-MINTUR").get_by_role("link", name="MINTUR").click()
    expect(agq.get_by_test_id("stage")).to_contain_text("Etapa actual: Producción")
    expect(agq.locator('[aria-current="step"]')).to_contain_text("Producción")
    screenshot(agq, "prod-10-institucion-produccion")
    assert Institution.get_by_id(institution.id).stage == "produccion"
    assert Ticket.get_by_id(ticket_id).state == "aprobado"

    # and the AIQ sees its request approved
    aiq.reload()
    expect(aiq.get_by_test_id("ticket-state")).to_have_text("Aprobado")
    expect(aiq.get_by_test_id("tracking-link")).to_have_count(0)
