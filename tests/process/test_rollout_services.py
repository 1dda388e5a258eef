"""The whole Quipux path through the service functions: oficio to a resolved escalation."""

import datetime as dt

import pytest

from notifications.reminders import send_reminders
from tests.conftest import PASSWORD, user
from tests.process.helpers import (
    NEW_AIQ_EMAIL,
    age_ticket,
    assert_no_password_in_outbox,
    mails_to,
    new_aiq,
    next_step,
    oficio_fields,
    second_agq,
)
from tests.process.outsiders import OutsiderServices, b_at_work
from ticketing import services, stats
from ticketing.errors import Conflict, GuardFailed, NotFound, PermissionDenied, ValidationFailed
from ticketing.fields import UploadedFile
from ticketing.models import (
    FOCAL,
    INTERNO,
    SECOND_LEVEL,
    STAGES,
    Attachment,
    DefaultTrackingItem,
    Institution,
    Outbox,
    Queue,
    StageChange,
    Ticket,
    TicketEvent,
    TrackingItem,
    User,
    now,
)
from ticketing.visibility import get_visible_ticket, visible_comments, visible_tickets

SUPPORT_MAILBOX = "mesadeayuda@mintur.gob.ec"


def _about(ticket: Ticket, email: str) -> list[str]:
    """The events mailed to `email` about `ticket`, oldest first."""
    return [
        row.event
        for row in Outbox.select()
        .where((Outbox.ticket == ticket.id) & (Outbox.recipient == email))
        .order_by(Outbox.id)
    ]


def _pipeline_row(agq, sigla: str) -> dict:
    (row,) = [r for r in services.rollout_pipeline(agq) if r["sigla"] == sigla]
    return row


def test_whole_path_from_oficio_to_resolved_escalation(app):
    agq = user("agq")
    agq2 = second_agq()
    b_at_work()  # institution B has tickets of its own, in both queues
    outsiders = OutsiderServices()
    path = []  # every ticket of the path, checked against institution B at every step

    # -- step 1: the AGQ registers the oficio; it lands in SGE's queue
    with pytest.raises(PermissionDenied):
        services.open_ticket(user("aiq"), "solicitud-uso", "Oficio", oficio_fields())
    solicitud = services.open_ticket(
        agq, "solicitud-uso", "Solicitud de uso de Quipux — MINTUR", oficio_fields()
    )
    path.append(solicitud)
    assert solicitud.queue_level == SECOND_LEVEL
    assert solicitud.queue.email == "soporte@administracionpublica.gob.ec"
    pdf = Attachment.get(Attachment.ticket == solicitud.id)
    assert (pdf.field_name, pdf.filename) == ("oficio_pdf", "oficio-0412.pdf")
    assert solicitud.fields["ruc"] == "1768000030001"
    assert solicitud.fields["oficio_numero"] == "MINTUR-DM-2025-0412-O"
    # before it is accepted the institution is in the pipeline at its first stage
    pending = _pipeline_row(agq, "MINTUR")
    assert (pending["institution"], pending["request"].id) == (None, solicitud.id)
    assert pending["stage"] == "solicitud" and pending["since"] == solicitud.created_at
    outsiders.check(path)

    services.transition(agq, solicitud.id, "aceptar")
    solicitud = Ticket.get_by_id(solicitud.id)
    assert solicitud.state == "aceptada"
    institution = Institution.get(Institution.sigla == "MINTUR")
    form = solicitud.fields  # the institution and the AIQ's account come from the form
    assert (institution.name, institution.ruc, institution.phone, institution.address) == (
        "Ministerio de Turismo Comunitario",
        "1768000030001",
        form["telefono"],
        "Av. Gran Colombia N11-165, Quito",
    )
    assert form["telefono"].replace("-", " ").endswith("2 399 9333")
    assert institution.stage == "capacitacion"
    first_level = Queue.get((Queue.institution == institution) & (Queue.level == 1))
    assert first_level.email is None  # until step 4 records the support mailbox
    assert [t.label for t in institution.tracking_items.order_by(TrackingItem.order)] == [
        d.label for d in DefaultTrackingItem.select().order_by(DefaultTrackingItem.order)
    ]
    aiq = new_aiq()
    assert (aiq.role, aiq.institution_id, aiq.cedula) == ("aiq", institution.id, "1710000108")
    assert (aiq.full_name, aiq.cargo, aiq.email) == (
        "María Paredes Ortiz",
        "Directora de Tecnologías de la Información",
        NEW_AIQ_EMAIL,
    )
    assert (aiq.phone, aiq.mobile) == (form["aiq_telefono"], form["aiq_celular"])
    assert "1204" in aiq.phone and aiq.mobile.replace(" ", "").endswith("991234567")
    assert aiq.password_hash is None  # the AIQ sets it from the invitation
    (invitation,) = mails_to(NEW_AIQ_EMAIL, "invitation")
    assert "/password/" in invitation.context["url"]
    assert solicitud.institution_id == institution.id and solicitud.requester_id == aiq.id
    row = _pipeline_row(agq, "MINTUR")  # one row: the institution, no longer the request
    assert row["institution"].id == institution.id and row["stage"] == "capacitacion"
    assert set(row["reached"]) == {"solicitud", "capacitacion"}
    outsiders.check(path, institution)

    # -- step 2: courses with hours and dates; completes only when all three are attended
    training = next_step(solicitud, "capacitacion-aiq")
    path.append(training)
    assert (training.requester_id, training.queue_level) == (aiq.id, SECOND_LEVEL)
    courses = training.type_version.definition["checklist"]
    assert [c["label"] for c in courses] == [
        "Curso Bandeja de entrada",
        "Curso Bandeja de salida",
        "Curso Administración",
    ]
    assert sum(c["hours"] for c in courses) == 12
    with pytest.raises(GuardFailed) as refused:
        services.transition(agq, training.id, "completar")
    assert refused.value.guard == "checklist_complete"
    start = dt.datetime(2025, 4, 7, 9, 0)
    for day, course in enumerate(courses):
        when = (start + dt.timedelta(days=day)).isoformat(timespec="minutes")
        services.set_checklist_item(agq, training.id, course["key"], False, scheduled_at=when)
    dates = mails_to(NEW_AIQ_EMAIL, "course_dates_set")
    assert len(dates) == 3
    assert [c["at"] for c in dates[-1].context["schedule"]] == [
        "2025-04-07T09:00",
        "2025-04-08T09:00",
        "2025-04-09T09:00",
    ]
    assert "2025-04-09 09:00" in dates[-1].body  # the mail itself lists the dates
    with pytest.raises(PermissionDenied):  # attendance is SGE's to record
        services.set_checklist_item(aiq, training.id, "bandeja_entrada", True)
    for course in courses[:2]:
        services.set_checklist_item(agq, training.id, course["key"], True)
    with pytest.raises(GuardFailed):
        services.transition(agq, training.id, "completar")
    services.set_checklist_item(agq, training.id, courses[2]["key"], True)
    services.transition(agq, training.id, "completar")
    assert Institution.get_by_id(institution.id).stage == "ambiente_capacitacion"
    outsiders.check(path, institution)

    # -- step 3: the AGQ's set-up checklist; completion tells the AIQ and starts 15 days
    setup = next_step(training, "ambiente-capacitacion")
    path.append(setup)
    for item in ("institucion_creada", "usuario_admin"):
        services.set_checklist_item(agq, setup.id, item, True)
    with pytest.raises(GuardFailed):
        services.transition(agq, setup.id, "completar")
    with pytest.raises(PermissionDenied):  # the AGQ's checklist, not the AIQ's
        services.set_checklist_item(aiq, setup.id, "plantilla_seguimiento", True)
    services.set_checklist_item(agq, setup.id, "plantilla_seguimiento", True)
    services.transition(agq, setup.id, "completar")
    setup = Ticket.get_by_id(setup.id)
    (ready,) = mails_to(NEW_AIQ_EMAIL, "setup_ready")
    assert "ambiente de capacitación" in ready.body
    # opened by step 2's effect: no "we received your ticket"; told once it is ready
    assert _about(setup, NEW_AIQ_EMAIL) == ["setup_ready"]
    outsiders.check(path, institution)

    # -- step 4: the AIQ's checklist within 15 days of step 3's completion
    parametrization = next_step(setup, "parametrizacion-capacitacion")
    path.append(parametrization)
    assert (
        dt.timedelta(days=15)
        <= parametrization.due_at - setup.closed_at
        <= dt.timedelta(days=15, seconds=5)
    )
    assert not parametrization.is_overdue
    (deadline_mail,) = mails_to(NEW_AIQ_EMAIL, "ticket_opened")[-1:]
    assert parametrization.due_at.strftime("%Y-%m-%d") in deadline_mail.subject
    focal = services.create_user(
        aiq,
        full_name="Pablo Quintero",
        cedula="1710000124",
        email="pablo.quintero@mintur.gob.ec",
        role=FOCAL,
        institution_id=institution.id,
    )
    interno = services.create_user(
        aiq,
        full_name="Rosa Salazar",
        cedula="1710000132",
        email="rosa.salazar@mintur.gob.ec",
        role=INTERNO,
        institution_id=institution.id,
    )
    with pytest.raises(ValidationFailed) as refused:  # focal users are the institution's
        services.update_fields(
            aiq, parametrization.id, {"usuarios_focales": [user("focal_b").id]}, None
        )
    assert "usuarios_focales" in refused.value.fields
    services.update_fields(
        aiq,
        parametrization.id,
        {"usuarios_focales": [focal.id], "correo_soporte": SUPPORT_MAILBOX},
        None,
    )
    with pytest.raises(PermissionDenied):  # the AIQ's checklist, not SGE's
        services.set_checklist_item(agq, parametrization.id, "parametrizado", True)
    for item in ("parametrizado", "focales_capacitados", "correo_creado"):
        services.set_checklist_item(aiq, parametrization.id, item, True)

    # reminders: none yet five days before, one before the deadline, one at it, never twice
    due = parametrization.due_at
    send_reminders(due - dt.timedelta(days=5))
    assert _reminders(parametrization) == []
    send_reminders(due - dt.timedelta(days=2))
    send_reminders(due - dt.timedelta(days=1))
    assert _reminders(parametrization) == ["deadline_near"]
    send_reminders(due)
    send_reminders(due + dt.timedelta(days=1))
    assert _reminders(parametrization) == ["deadline_near", "deadline_passed"]
    assert "deadline_passed" in _about(parametrization, agq.email)  # SGE hears of it too

    # fourteen days on it is still within its deadline; sixteen days on it is overdue,
    # flagged in the lists (a query) and first in the AGQ's pipeline
    overdue = lambda who: visible_tickets(who).where(Ticket.due_at < now())  # noqa: E731
    age_ticket(parametrization.id, 14)
    assert not Ticket.get_by_id(parametrization.id).is_overdue
    assert not overdue(agq).where(Ticket.id == parametrization.id).exists()
    assert _pipeline_row(agq, "MINTUR")["overdue"] == 0
    age_ticket(parametrization.id, 2)
    assert Ticket.get_by_id(parametrization.id).is_overdue
    for who in (agq, aiq):
        assert overdue(who).where(Ticket.id == parametrization.id).exists()
    pipeline = services.rollout_pipeline(agq)
    assert pipeline[0]["sigla"] == "MINTUR" and pipeline[0]["overdue"] == 1
    assert services.institution_overview(aiq, institution.id)["overdue"] == 1
    outsiders.check(path, institution)
    services.transition(aiq, parametrization.id, "completar")
    first_level = Queue.get_by_id(first_level.id)
    assert first_level.email == SUPPORT_MAILBOX
    assert not Ticket.get_by_id(parametrization.id).is_overdue
    assert _pipeline_row(agq, "MINTUR")["overdue"] == 0

    # -- steps 5 and 6: the AIQ's mail reached SGE; the second AGQ registered it for the AIQ
    request = services.open_ticket(
        agq2,
        "paso-produccion",
        "Solicitud de paso a producción — MINTUR",
        {"resumen": "Parametrizadas áreas, usuarios y plantillas; 40 usuarios finales formados."},
        on_behalf_of=aiq,
    )
    path.append(request)
    assert (request.requester_id, request.institution_id) == (aiq.id, institution.id)
    assert request.queue_level == SECOND_LEVEL
    assert Institution.get_by_id(institution.id).stage == "paso_produccion"
    for who in (aiq, focal):  # approval by anyone but an AGQ
        with pytest.raises(PermissionDenied):
            services.transition(who, request.id, "aprobar")
    with pytest.raises(GuardFailed) as refused:  # approval by who asked for it
        services.transition(agq2, request.id, "aprobar")
    assert refused.value.guard == "not_requester"
    with pytest.raises(GuardFailed) as refused:  # approval with unmet template items
        services.transition(agq, request.id, "aprobar")
    assert refused.value.guard == "tracking_template_complete"
    outsiders.check(path, institution)

    services.transition(
        agq, request.id, "devolver", comment="Faltan los perfiles y permisos de Secretaría."
    )
    request = Ticket.get_by_id(request.id)
    assert request.state == "devuelto" and request.state_category == "waiting"
    returned = mails_to(NEW_AIQ_EMAIL, "rejected")[-1]  # "Solicitud rechazada", with the reason
    assert "Faltan los perfiles" in returned.context["comment"]
    assert "Motivo: Faltan los perfiles" in returned.body
    assert _about(request, NEW_AIQ_EMAIL) == ["ticket_opened", "rejected"]  # told once
    services.transition(aiq, request.id, "reenviar", comment="Perfiles asignados.")
    assert "state_changed" in _about(request, agq.email)

    items = list(institution.tracking_items.order_by(TrackingItem.order))
    for item in items[:-1]:
        services.set_tracking_item(agq, item.id, True, note="Verificado en capacitación")
    with pytest.raises(GuardFailed) as refused:  # one unmet item is enough to refuse
        services.transition(agq, request.id, "aprobar")
    assert items[-1].label in refused.value.message
    services.set_tracking_item(agq, items[-1].id, True)
    review = TicketEvent.select().where(
        (TicketEvent.ticket == request.id) & (TicketEvent.kind == "tracking")
    )
    assert review.count() == len(items)  # the review, item by item, is on the request

    with pytest.raises(GuardFailed) as refused:  # every item met: still not who asked
        services.transition(agq2, request.id, "aprobar")
    assert refused.value.guard == "not_requester"
    services.transition(agq, request.id, "aprobar")
    assert Ticket.get_by_id(request.id).state == "aprobado"
    assert Institution.get_by_id(institution.id).stage == "produccion"
    # opened, returned with reasons, approved: one mail each (not for its own resend)
    assert _about(request, NEW_AIQ_EMAIL) == [
        "ticket_opened",
        "rejected",
        "production_approved",
    ]
    outsiders.check(path, institution)

    # -- step 7: production
    production = next_step(request, "parametrizacion-produccion")
    path.append(production)
    assert production.requester_id == aiq.id
    with pytest.raises(GuardFailed):
        services.transition(aiq, production.id, "completar")
    for item in ("produccion_parametrizada", "correo_difundido"):
        services.set_checklist_item(aiq, production.id, item, True)
    services.transition(aiq, production.id, "completar")
    outsiders.check(path, institution)

    # every stage has the date it was reached, in order; solicitud is when the oficio arrived
    reached = {
        c.stage: c.reached_at
        for c in StageChange.select()
        .where(StageChange.institution == institution.id)
        .order_by(StageChange.id)
    }
    assert list(reached) == list(STAGES)
    assert reached["solicitud"] == solicitud.created_at
    assert sorted(reached.values()) == list(reached.values())
    assert _pipeline_row(agq, "MINTUR")["reached"] == reached
    overview = services.institution_overview(aiq, institution.id)
    assert {s["key"]: s["at"] for s in overview["stages"]} == reached

    # -- support: an internal user's problem, escalated to SGE and answered
    support = services.open_ticket(
        interno,
        "soporte",
        "No puedo reasignar un documento",
        {
            "categoria": "incidente",
            "modulo": "bandeja_entrada",
            "descripcion": "Al reasignar un oficio aparece un error de permisos.",
            "adjunto": UploadedFile("captura.png", "image/png", b"\x89PNG\r\n\x1a\ncaptura"),
        },
    )
    path.append(support)
    assert support.queue_id == first_level.id
    assert Attachment.get(Attachment.ticket == support.id).field_name == "adjunto"
    services.transition(focal, support.id, "atender")
    with pytest.raises(PermissionDenied):  # the first level's to escalate, not the user's
        services.transition(interno, support.id, "escalar", comment="Urgente")
    with pytest.raises(GuardFailed):  # say what first level tried
        services.transition(focal, support.id, "escalar")
    services.transition(
        focal, support.id, "escalar", comment="Probamos con otro navegador y otro usuario."
    )
    support = Ticket.get_by_id(support.id)
    escalation = Ticket.get(Ticket.parent == support.id)
    path.append(escalation)
    assert escalation.type.slug == "escalamiento-sge"
    assert support.state == "esperando_sge" and support.waiting_on_id == escalation.id
    assert support.queue_id == first_level.id  # the original waits in the first level
    assert escalation.queue_level == SECOND_LEVEL
    assert escalation.fields["descripcion"] == support.fields["descripcion"]
    assert "otro navegador" in escalation.comments.get().body
    services.set_checklist_item(focal, escalation.id, "reprodujo", True)
    services.set_checklist_item(focal, escalation.id, "permisos", True)
    assert get_visible_ticket(interno, escalation.id) is None  # SGE's work, not the user's
    outsiders.check(path, institution)
    services.transition(agq, escalation.id, "analizar")
    with pytest.raises(GuardFailed):  # SGE answers with the resolution
        services.transition(agq, escalation.id, "resolver")
    services.transition(
        agq, escalation.id, "resolver", comment="Se corrigió el permiso de reasignación del área."
    )
    support = Ticket.get_by_id(support.id)
    # back in the first level, waiting for whoever asked to confirm the answer
    assert (support.state, support.waiting_on_id) == ("por_confirmar", None)
    assert support.state_category == "waiting" and support.closed_at is None
    assert support.queue_id == first_level.id
    answer = [c.body for c in visible_comments(interno, support)][-1]
    assert "permiso de reasignación" in answer  # the resolution, where the user reads it
    # the user is asked whether SGE's answer solved it, once for that act
    told = mails_to(interno.email, "resolution_check")[-1]
    assert told.ticket_id == support.id
    assert "permiso de reasignación" in told.context["comment"]
    assert _about(support, interno.email)[-1:] == ["resolution_check"]
    for person in (focal, aiq):  # the first level hears it is back, with the answer
        (back,) = [r for r in mails_to(person.email, "returned") if r.ticket_id == support.id]
        assert "permiso de reasignación" in back.context["comment"]

    # -- nothing of it reached another institution, and nothing of it can be changed by it
    outsiders.check(path, institution)
    for ticket in path:
        with pytest.raises(NotFound):
            services.transition(user("aiq_b"), ticket.id, "completar")
        with pytest.raises(NotFound):
            services.add_comment(user("focal_b"), ticket.id, "¿Qué es esto?")
        with pytest.raises(NotFound):
            services.set_checklist_item(user("aiq_b"), ticket.id, "parametrizado", True)
        with pytest.raises(NotFound):
            services.update_fields(user("focal_b"), ticket.id, {}, None, title="x")

    # -- passwords never travel by mail
    assert assert_no_password_in_outbox(PASSWORD) > 20
    assert any(row.body for row in mails_to(NEW_AIQ_EMAIL))


def _reminders(ticket: Ticket) -> list[str]:
    return [
        event
        for event in _about(ticket, NEW_AIQ_EMAIL)
        if event in ("deadline_near", "deadline_passed")
    ]


def test_rejected_oficio_keeps_its_reason_and_creates_nothing(app):
    agq = user("agq")
    solicitud = services.open_ticket(agq, "solicitud-uso", "Solicitud MINTUR", oficio_fields())
    with pytest.raises(GuardFailed) as refused:
        services.transition(agq, solicitud.id, "rechazar")
    assert refused.value.guard == "comment_required"
    services.transition(
        agq, solicitud.id, "rechazar", comment="El oficio no está firmado por la máxima autoridad."
    )
    solicitud = Ticket.get_by_id(solicitud.id)
    assert solicitud.state_category == "rejected"
    assert "máxima autoridad" in solicitud.comments.get().body
    assert not Institution.select().where(Institution.sigla == "MINTUR").exists()
    assert not User.select().where(User.email == NEW_AIQ_EMAIL).exists()


def test_acceptance_refused_when_the_ruc_is_taken_and_nothing_half_done(app):
    agq = user("agq")
    solicitud = services.open_ticket(
        agq, "solicitud-uso", "Solicitud repetida", oficio_fields(ruc="1760000230001")
    )
    with pytest.raises(Conflict):
        services.transition(agq, solicitud.id, "aceptar")
    assert Ticket.get_by_id(solicitud.id).state == "recibida"
    assert not User.select().where(User.email == NEW_AIQ_EMAIL).exists()
    assert not Institution.select().where(Institution.sigla == "MINTUR").exists()


def test_institution_in_production_cannot_ask_again_for_production(app):
    aiq = user("aiq")  # institution A is already in production
    assert "paso-produccion" not in {t.slug for t in services.openable_types(aiq)}
    with pytest.raises(Conflict):
        services.open_ticket(aiq, "paso-produccion", "Otra vez", {"resumen": "..."})
    assert Institution.get(Institution.sigla == "INSTA").stage == "produccion"
    assert not Ticket.select().where(Ticket.title == "Otra vez").exists()


def test_only_an_agq_registers_for_someone_else(app):
    with pytest.raises(PermissionDenied):
        services.open_ticket(
            user("focal"), "soporte", "Por otra persona", {}, on_behalf_of=user("interno")
        )
    with pytest.raises(PermissionDenied):  # the person must be allowed to open the type
        services.open_ticket(
            user("agq"), "paso-produccion", "x", {"resumen": "x"}, on_behalf_of=user("focal")
        )
    assert not Ticket.select().where(Ticket.title.in_(["Por otra persona", "x"])).exists()


def test_step_four_deadline_counts_from_step_three_not_from_training(app):
    """A step 3 that took a week still gives the AIQ its full 15 days from its completion."""
    agq = user("agq")
    solicitud = services.open_ticket(agq, "solicitud-uso", "Solicitud MINTUR", oficio_fields())
    services.transition(agq, solicitud.id, "aceptar")
    training = next_step(solicitud, "capacitacion-aiq")
    for key in ("bandeja_entrada", "bandeja_salida", "administracion"):
        services.set_checklist_item(agq, training.id, key, True)
    services.transition(agq, training.id, "completar")
    setup = next_step(training, "ambiente-capacitacion")
    # the calendar: training ended and step 3 opened a week ago
    week = dt.timedelta(days=7)
    closed = Ticket.get_by_id(training.id).closed_at - week
    Ticket.update(closed_at=closed).where(Ticket.id == training.id).execute()
    Ticket.update(created_at=closed).where(Ticket.id == setup.id).execute()
    stats.rebuild()  # tickets written behind the services' back
    for key in ("institucion_creada", "usuario_admin", "plantilla_seguimiento"):
        services.set_checklist_item(agq, setup.id, key, True)
    services.transition(agq, setup.id, "completar")
    setup = Ticket.get_by_id(setup.id)
    step4 = next_step(setup, "parametrizacion-capacitacion")
    assert setup.closed_at - closed >= week
    assert dt.timedelta(0) <= step4.due_at - (setup.closed_at + dt.timedelta(days=15))
    assert step4.due_at - (setup.closed_at + dt.timedelta(days=15)) <= dt.timedelta(seconds=5)
    assert not step4.is_overdue
