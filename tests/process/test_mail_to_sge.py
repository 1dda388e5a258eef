"""Mail to SGE's address: the AIQ's mail asking for production (source step 5) becomes a
paso-a-producción request in SGE's queue; any other mail, and the same one once the
institution is in production, becomes an escalation (step 7). The process file decides,
through the types' names, open roles, required stages and SGE's default type."""

from email.message import EmailMessage

import pytest

from mailgate.inbound import ACCEPTED, receive
from tests.conftest import user
from ticketing import services
from ticketing.errors import GuardFailed, PermissionDenied
from ticketing.models import FOCAL, SECOND_LEVEL, Institution, Ticket, TrackingItem

SGE_ADDRESS = "soporte@administracionpublica.gob.ec"


def _mail_to_sge(sender, subject: str, body: str) -> Ticket:
    message = EmailMessage()
    message["From"] = f"{sender.full_name} <{sender.email}>"
    message["To"] = f"Soporte Quipux <{SGE_ADDRESS}>"
    message["Subject"] = subject
    message["Message-ID"] = f"<{abs(hash((sender.email, subject)))}@correo.example>"
    message.set_content(body)
    record = receive(bytes(message))
    assert record.status == ACCEPTED, record.reason
    return Ticket.get_by_id(record.ticket_id)


def test_an_aiqs_mail_asking_for_production_is_the_step_5_request(app, rollout):
    aiq, institution = rollout.aiq, rollout.institution
    request = _mail_to_sge(
        aiq,
        "Solicitud de paso a producción — MINTUR",
        "Parametrizamos áreas y usuarios y formamos a 40 usuarios finales.",
    )
    assert request.type.slug == "paso-produccion"
    assert (request.requester_id, request.institution_id) == (aiq.id, institution.id)
    assert request.queue_level == SECOND_LEVEL
    assert request.fields["resumen"].startswith("Parametrizamos áreas")
    assert Institution.get_by_id(institution.id).stage == "paso_produccion"
    # the same review as a request made in the UI
    with pytest.raises(PermissionDenied):
        services.transition(aiq, request.id, "aprobar")
    with pytest.raises(GuardFailed) as refused:
        services.transition(user("agq"), request.id, "aprobar")
    assert refused.value.guard == "tracking_template_complete"
    TrackingItem.update(met=True).where(TrackingItem.institution == institution).execute()
    services.transition(user("agq"), request.id, "aprobar")
    assert Institution.get_by_id(institution.id).stage == "produccion"

    # in production, the same words from the same AIQ report a problem to SGE instead
    again = _mail_to_sge(aiq, "Paso a producción: error al firmar", "El token no responde.")
    assert again.type.slug == "escalamiento-sge" and again.queue_level == SECOND_LEVEL


def test_any_other_mail_to_sge_is_an_escalation(app, rollout):
    problem = _mail_to_sge(
        rollout.aiq, "No llegan los documentos reasignados", "Desde ayer, en capacitación."
    )
    assert problem.type.slug == "escalamiento-sge"
    assert problem.institution_id == rollout.institution.id
    assert Institution.get_by_id(rollout.institution.id).stage == "ambiente_capacitacion"
    focal = services.create_user(
        rollout.aiq,
        full_name="Pablo Quintero",
        cedula="1710000124",
        email="pablo.quintero@mintur.gob.ec",
        role=FOCAL,
        institution_id=rollout.institution.id,
    )
    mailed = _mail_to_sge(focal, "Paso a producción", "Lo pide un usuario focal.")
    assert mailed.type.slug == "escalamiento-sge"  # only the AIQ asks for production
    assert Institution.get_by_id(rollout.institution.id).stage == "ambiente_capacitacion"
