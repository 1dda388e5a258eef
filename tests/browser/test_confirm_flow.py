"""End to end in Chromium: SGE answers an escalation, the person who asked opens the
"¿Se resolvió?" mail's link, says it was not solved, and confirms the second answer."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.test_axe import blocking_violations, with_axe
from tests.conftest import make_ticket, user
from ticketing.models import Outbox, Ticket

pytestmark = pytest.mark.browser


def _escalate(focal, ticket_id: int, comment: str) -> None:
    focal.goto(f"/ticket/{ticket_id}/")
    focal.get_by_label("Comentario para «Escalar a SGE»").fill(comment)
    focal.get_by_role("button", name="Escalar a SGE").click()
    expect(focal.get_by_test_id("ticket-state")).to_have_text("Esperando a SGE")


def _sge_answers(agq, ticket_id: int, answer: str) -> None:
    escalation = (
        Ticket.select().where(Ticket.parent == ticket_id).order_by(Ticket.id.desc()).first()
    )
    agq.goto(f"/ticket/{escalation.id}/")
    agq.get_by_label("Comentario para «Resolver»").fill(answer)
    agq.get_by_role("button", name="Resolver").click()
    expect(agq.get_by_test_id("ticket-state")).to_have_text("Resuelto")


def _question_link(ticket_id: int) -> str:
    """The path the latest "¿Se resolvió?" mail links to."""
    asked = (
        Outbox.select()
        .where(
            (Outbox.ticket == ticket_id)
            & (Outbox.event == "resolution_check")
            & (Outbox.recipient == user("interno").email)
        )
        .order_by(Outbox.id.desc())
        .first()
    )
    assert asked is not None, "nobody asked the requester"
    url = re.search(r"http://mesa\.test(/ticket/\d+/)", asked.body)
    assert url, asked.body
    return url.group(1)


def test_requester_says_not_solved_from_the_mail_link_then_confirms(site):
    ticket = make_ticket(user("interno"), title="No puedo firmar el oficio")
    focal, agq = site.page_as("focal"), site.page_as("agq")
    interno = with_axe(site.page_as("interno"))

    _escalate(focal, ticket.id, "El certificado no valida; solicitamos revisión.")
    _sge_answers(agq, ticket.id, "Se renovó el certificado; ya puede firmar.")

    # the mail's link opens the ticket waiting for the requester's answer, both buttons first
    interno.goto(_question_link(ticket.id))
    expect(interno.get_by_test_id("ticket-state")).to_have_text("Por confirmar")
    expect(interno.get_by_test_id("comment").last).to_contain_text("ya puede firmar")
    actions = interno.locator("[data-testid^=transition-]")
    expect(actions).to_have_count(2)
    expect(actions.nth(0).get_by_role("button")).to_have_text("Sí, se resolvió")
    expect(actions.nth(1).get_by_role("button")).to_have_text("No se resolvió")
    assert blocking_violations(interno) == []
    screenshot(interno, "confirm-01-por-confirmar-solicitante")

    # not solved: the button asks for what is missing, and the ticket is the first level's again
    interno.get_by_label("Comentario para «No se resolvió» (obligatorio)").fill(
        "Sigue apareciendo «certificado no válido»."
    )
    interno.get_by_role("button", name="No se resolvió").click()
    expect(interno.get_by_test_id("ticket-state")).to_have_text("En atención")
    expect(interno.get_by_test_id("history")).to_contain_text(
        "No se resolvió: Por confirmar → En atención"
    )
    expect(interno.get_by_role("button", name="Sí, se resolvió")).to_have_count(0)
    focal.goto(f"/ticket/{ticket.id}/")
    expect(focal.get_by_test_id("comment").last).to_contain_text("certificado no válido")
    screenshot(focal, "confirm-02-no-resuelto-primer-nivel")

    # SGE answers again, and this time the requester confirms it with one click
    _escalate(focal, ticket.id, "El usuario indica que sigue fallando.")
    _sge_answers(agq, ticket.id, "Se reinstaló el token en su equipo.")
    interno.goto(_question_link(ticket.id))
    interno.get_by_role("button", name="Sí, se resolvió").click()
    expect(interno.get_by_test_id("ticket-state")).to_have_text("Resuelto")
    expect(interno.get_by_test_id("history")).to_contain_text(
        "Sí, se resolvió: Por confirmar → Resuelto"
    )
    # within the window it may still be reopened
    expect(interno.get_by_role("button", name="Reabrir")).to_be_enabled()
    assert blocking_violations(interno) == []
    screenshot(interno, "confirm-03-confirmado")
