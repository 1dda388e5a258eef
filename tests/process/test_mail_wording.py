"""What the seed's mails say: named actions, no needless receipts, SGE's answer to confirm."""

from tests.conftest import make_ticket, user
from tests.process.helpers import NEW_AIQ_EMAIL, mails_to, next_step
from ticketing import services
from ticketing.models import Outbox


def _about(ticket, email) -> list[str]:
    return [r.event for r in mails_to(email) if r.ticket_id == ticket.id]


def test_an_effects_state_changed_mail_names_the_action(rollout):
    """Step 4's completion tells SGE with the action's label, not «»."""
    setup, parametrization = rollout.steps[2], rollout.steps[3]
    (told,) = [r for r in mails_to(user("agq").email, "state_changed")]
    assert told.ticket_id == parametrization.id
    assert told.context["transition"] == "Parametrización completada"
    assert "realizó «Parametrización completada» en su ticket" in told.body
    assert "«»" not in told.body

    # steps opened by another step's effect send no "we received your ticket"...
    training = rollout.steps[1]
    assert _about(training, NEW_AIQ_EMAIL) == ["state_changed"]  # when it was completed
    assert _about(setup, NEW_AIQ_EMAIL) == ["setup_ready"]
    # ...but step 4's own opening mail, from its on_open, still gives the due date
    (deadline,) = [r for r in mails_to(NEW_AIQ_EMAIL, "ticket_opened")]
    assert deadline.ticket_id == parametrization.id
    assert parametrization.due_at.strftime("%Y-%m-%d") in deadline.subject
    assert deadline.context["transition"] == "Parametrización en ambiente de capacitación"


def test_a_receipt_goes_only_to_who_did_not_see_the_reference(app):
    interno = user("interno")
    on_the_web = make_ticket(interno)
    assert _about(on_the_web, interno.email) == []
    assert "ticket_opened_queue" in _about(on_the_web, user("focal").email)

    by_mail = make_ticket(interno, source="mail")
    (receipt,) = mails_to(interno.email, "ticket_opened")
    assert receipt.ticket_id == by_mail.id
    assert receipt.subject.startswith(f"[{by_mail.reference}] Recibimos su ticket")


def test_the_requester_is_asked_to_confirm_sges_answer(app):
    interno, focal, agq = user("interno"), user("focal"), user("agq")
    support = make_ticket(interno, title="No puedo firmar")
    services.transition(focal, support.id, "escalar", comment="Probamos en otro equipo.")
    escalation = next_step(support, "escalamiento-sge")
    before = Outbox.select().where(Outbox.recipient == interno.email).count()

    services.transition(
        agq, escalation.id, "resolver", comment="Se renovó el certificado de firma."
    )

    # one mail for that act: the question, with SGE's answer and the link to the ticket
    new = list(Outbox.select().where(Outbox.recipient == interno.email).order_by(Outbox.id))[
        before:
    ]
    assert [(r.event, r.ticket_id) for r in new] == [("resolution_check", support.id)]
    (asked,) = new
    assert asked.subject == f"[{support.reference}] ¿Se resolvió su consulta? No puedo firmar"
    assert "Se renovó el certificado de firma." in asked.body
    assert f"http://mesa.test/ticket/{support.id}/" in asked.body
    assert "«Sí, se resolvió» o «No se resolvió»" in asked.body
    # the first level still hears it is back
    assert "returned" in _about(support, focal.email)
