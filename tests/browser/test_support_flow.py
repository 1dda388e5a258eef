"""End to end in Chromium: a support request raised, escalated to SGE, resolved, seen by
the person who raised it."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from ticketing.models import Ticket

pytestmark = pytest.mark.browser


def _ticket_id(page) -> int:
    return int(re.search(r"/ticket/(\d+)/", page.url).group(1))


def test_internal_user_raises_focal_escalates_agq_resolves_requester_sees_it(site):
    # the internal user raises a ticket from the menu, with a screenshot attached
    interno = site.page_as("interno")
    interno.get_by_role("link", name="Nuevo ticket").first.click()
    screenshot(interno, "01-nuevo-ticket-tipos")
    interno.get_by_role("link", name="Soporte de primer nivel").click()
    interno.get_by_label("Título").fill("No puedo firmar el oficio")
    interno.get_by_label("Categoría").select_option(label="Incidente")
    interno.get_by_label("Módulo de Quipux").select_option(label="Firma electrónica")
    interno.get_by_label("Descripción").fill("Al firmar aparece «certificado no válido».")
    interno.get_by_label("Captura o documento").set_input_files(
        {"name": "error.txt", "mimeType": "text/plain", "buffer": b"certificado no valido"}
    )
    screenshot(interno, "02-nuevo-ticket-formulario")
    interno.get_by_role("button", name="Enviar").click()
    expect(interno.get_by_role("status").first).to_contain_text("registrado")
    expect(interno.get_by_test_id("ticket-state")).to_have_text("Nuevo")
    expect(interno.get_by_role("link", name="error.txt").first).to_be_visible()
    ticket_id = _ticket_id(interno)
    reference = f"MESA-{ticket_id}"
    # the requester cannot act on the workflow: no queue buttons are offered
    expect(interno.get_by_role("button", name="Escalar a SGE")).to_have_count(0)

    # a focal user finds it under "Sin asignar", takes it, notes, and escalates it
    focal = site.page_as("focal")
    focal.get_by_role("link", name="Cola", exact=True).click()
    focal.get_by_test_id("view-unassigned").click()
    expect(focal.get_by_role("link", name="No puedo firmar el oficio")).to_be_visible()
    screenshot(focal, "03-cola-institucion-sin-asignar")
    focal.get_by_role("link", name="No puedo firmar el oficio").click()
    focal.get_by_label("Asignado a").select_option(label="FOCAL INSTA")
    focal.get_by_role("button", name="Asignar").click()
    expect(focal.get_by_test_id("assignee")).to_have_text("FOCAL INSTA")
    focal.get_by_label("Nuevo comentario").fill("Parece el certificado caducado; lo pasamos a SGE.")
    focal.get_by_label("Nota interna").check()
    focal.get_by_role("button", name="Comentar").click()
    expect(focal.get_by_test_id("comment")).to_contain_text(["certificado caducado"])
    focal.get_by_label("Comentario para «Escalar a SGE»").fill(
        "El certificado del usuario no valida en Quipux; solicitamos revisión."
    )
    focal.get_by_role("button", name="Escalar a SGE").click()
    expect(focal.get_by_test_id("ticket-state")).to_have_text("Esperando a SGE")
    expect(focal.get_by_test_id("history")).to_contain_text(
        "Escalar a SGE: Nuevo → Esperando a SGE"
    )
    screenshot(focal, "04-ticket-escalado")
    focal.get_by_role("link", name="Cola", exact=True).click()
    focal.get_by_test_id("view-waiting_sge").click()
    expect(focal.get_by_role("link", name=reference)).to_be_visible()

    # the AGQ finds the escalation in SGE's queue and resolves it
    escalation = Ticket.get(Ticket.parent == ticket_id)
    agq = site.page_as("agq")
    agq.get_by_role("link", name="Cola", exact=True).click()
    expect(agq.get_by_role("heading", level=1)).to_have_text("Cola de SGE (segundo nivel)")
    expect(agq.get_by_role("link", name=escalation.reference)).to_be_visible()
    expect(agq.get_by_role("link", name=reference, exact=True)).to_have_count(
        0
    )  # first level stays home
    screenshot(agq, "05-cola-sge")
    agq.get_by_role("link", name=escalation.reference).click()
    agq.get_by_role("button", name="Analizar").click()
    expect(agq.get_by_test_id("ticket-state")).to_have_text("En análisis")
    agq.get_by_label("Comentario para «Resolver»").fill(
        "Se renovó el certificado en el registro; ya puede firmar."
    )
    agq.get_by_role("button", name="Resolver").click()
    expect(agq.get_by_test_id("ticket-state")).to_have_text("Resuelto")
    screenshot(agq, "06-escalamiento-resuelto")

    # the requester sees the resolution in Mis tickets and on the ticket, not the note,
    # waiting for them to confirm it
    interno.get_by_role("link", name="Mis tickets").click()
    row = interno.locator("tr", has=interno.get_by_role("link", name=reference))
    expect(row).to_contain_text("Por confirmar")
    screenshot(interno, "07-mis-tickets")
    interno.get_by_role("link", name=reference).click()
    expect(interno.get_by_test_id("ticket-state")).to_have_text("Por confirmar")
    expect(interno.get_by_test_id("comment").last).to_contain_text("ya puede firmar")
    expect(interno.get_by_text("certificado caducado")).to_have_count(0)
    screenshot(interno, "08-ticket-resuelto-solicitante")

    # and may still write back, with a file
    interno.get_by_label("Nuevo comentario").fill("Gracias, ya firmé.")
    interno.get_by_label("Adjunto (opcional)").set_input_files(
        {"name": "firmado.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.4 ok"}
    )
    interno.get_by_role("button", name="Comentar").click()
    expect(interno.get_by_test_id("comment").last).to_contain_text("Gracias, ya firmé.")
    expect(interno.get_by_role("link", name="firmado.pdf", exact=True).first).to_be_visible()
