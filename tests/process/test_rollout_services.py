"""The whole Quipux path through the service functions: oficio to a resolved escalation."""

import datetime as dt

import pytest

from tests.conftest import PASSWORD, make_ticket, user
from tests.process.helpers import (
    NEW_AIQ_EMAIL,
    age_ticket,
    assert_no_password_in_outbox,
    mails_to,
    new_aiq,
    next_step,
    oficio_fields,
)
from ticketing import services
from ticketing.errors import Conflict, GuardFailed, NotFound, PermissionDenied
from ticketing.models import (
    AGQ,
    FOCAL,
    INTERNO,
    SECOND_LEVEL,
    STAGES,
    Attachment,
    DefaultTrackingItem,
    Institution,
    Queue,
    StageChange,
    Ticket,
    TicketEvent,
    TrackingItem,
    User,
    now,
)
from ticketing.visibility import get_visible_ticket

SUPPORT_MAILBOX = "mesadeayuda@mintur.gob.ec"


def _second_agq() -> User:
    """Another AGQ of SGE, for the four-eyes rule."""
    return services.create_user(
        services.SYSTEM,
        full_name="Héctor Ibarra (AGQ)",
        cedula="1710000116",
        email="agq2@sge.ec",
        role=AGQ,
        institution_id=services.sge().id,
        invite=False,
    )


def test_whole_path_from_oficio_to_resolved_escalation(app):
    agq = user("agq")
    agq2 = _second_agq()
    path = []  # every ticket of the path, for the visibility check at the end

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

    services.transition(agq, solicitud.id, "aceptar")
    solicitud = Ticket.get_by_id(solicitud.id)
    assert solicitud.state == "aceptada"
    institution = Institution.get(Institution.sigla == "MINTUR")
    assert (institution.name, institution.ruc) == (
        "Ministerio de Turismo Comunitario",
        "1768000030001",
    )
    assert institution.stage == "capacitacion"
    assert Queue.get((Queue.institution == institution) & (Queue.level == 1)).email is None
    assert [t.label for t in institution.tracking_items.order_by(TrackingItem.order)] == [
        d.label for d in DefaultTrackingItem.select().order_by(DefaultTrackingItem.order)
    ]
    aiq = new_aiq()
    assert (aiq.role, aiq.institution_id, aiq.cedula) == ("aiq", institution.id, "1710000108")
    assert aiq.full_name == "María Paredes Ortiz" and "ext. 1204" in aiq.phone
    assert aiq.password_hash is None  # the AIQ sets it from the invitation
    (invitation,) = mails_to(NEW_AIQ_EMAIL, "invitation")
    assert "/password/" in invitation.context["url"]
    assert solicitud.institution_id == institution.id and solicitud.requester_id == aiq.id

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

    # -- step 3: the AGQ's set-up checklist; completion tells the AIQ and starts 15 days
    setup = next_step(training, "ambiente-capacitacion")
    path.append(setup)
    for item in ("institucion_creada", "usuario_admin"):
        services.set_checklist_item(agq, setup.id, item, True)
    with pytest.raises(GuardFailed):
        services.transition(agq, setup.id, "completar")
    services.set_checklist_item(agq, setup.id, "plantilla_seguimiento", True)
    services.transition(agq, setup.id, "completar")
    setup = Ticket.get_by_id(setup.id)
    (ready,) = mails_to(NEW_AIQ_EMAIL, "setup_ready")
    assert "ambiente de capacitación" in ready.body

    # -- step 4: the AIQ's checklist within 15 days of step 3's completion
    parametrization = next_step(setup, "parametrizacion-capacitacion")
    path.append(parametrization)
    assert parametrization.due_at - setup.closed_at <= dt.timedelta(days=15, seconds=5)
    assert parametrization.due_at - setup.closed_at >= dt.timedelta(days=15)
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
    services.update_fields(
        aiq,
        parametrization.id,
        {"usuarios_focales": [focal.id], "correo_soporte": SUPPORT_MAILBOX},
        parametrization.version,
    )
    with pytest.raises(PermissionDenied):  # the AIQ's checklist, not SGE's
        services.set_checklist_item(agq, parametrization.id, "parametrizado", True)
    for item in ("parametrizado", "focales_capacitados", "correo_creado"):
        services.set_checklist_item(aiq, parametrization.id, item, True)

    # sixteen days later the step is overdue, and the AGQ's pipeline puts it first
    age_ticket(parametrization.id, 16)
    assert Ticket.get_by_id(parametrization.id).is_overdue
    pipeline = services.rollout_pipeline(agq)
    assert pipeline[0]["institution"].sigla == "MINTUR" and pipeline[0]["overdue"] == 1
    services.transition(aiq, parametrization.id, "completar")
    first_level = Queue.get((Queue.institution == institution) & (Queue.level == 1))
    assert first_level.email == SUPPORT_MAILBOX
    assert not Ticket.get_by_id(parametrization.id).is_overdue
    assert services.rollout_pipeline(agq)[0]["overdue"] == 0

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
    with pytest.raises(PermissionDenied):  # approval by an AIQ
        services.transition(aiq, request.id, "aprobar")
    with pytest.raises(GuardFailed) as refused:  # approval with unmet template items
        services.transition(agq, request.id, "aprobar")
    assert refused.value.guard == "tracking_template_complete"

    services.transition(
        agq, request.id, "devolver", comment="Faltan los perfiles y permisos de Secretaría."
    )
    request = Ticket.get_by_id(request.id)
    assert request.state == "devuelto" and request.state_category == "waiting"
    returned = mails_to(NEW_AIQ_EMAIL, "state_changed")[-1]
    assert "Faltan los perfiles" in returned.context["comment"]
    services.transition(aiq, request.id, "reenviar", comment="Perfiles asignados.")

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

    with pytest.raises(GuardFailed) as refused:  # approval by who asked for it
        services.transition(agq2, request.id, "aprobar")
    assert refused.value.guard == "not_requester"
    services.transition(agq, request.id, "aprobar")
    assert Ticket.get_by_id(request.id).state == "aprobado"
    assert Institution.get_by_id(institution.id).stage == "produccion"

    # -- step 7: production
    production = next_step(request, "parametrizacion-produccion")
    path.append(production)
    assert production.requester_id == aiq.id
    for item in ("produccion_parametrizada", "correo_difundido"):
        services.set_checklist_item(aiq, production.id, item, True)
    services.transition(aiq, production.id, "completar")

    # every stage has the date it was reached, in order; solicitud is when the oficio arrived
    reached = {
        c.stage: c.reached_at
        for c in StageChange.select().where(StageChange.institution == institution.id)
    }
    assert list(reached) == list(STAGES)
    assert reached["solicitud"] == solicitud.created_at
    assert sorted(reached.values()) == list(reached.values())

    # -- support: an internal user's problem, escalated to SGE and answered
    support = make_ticket(requester=interno, title="No puedo reasignar un documento")
    path.append(support)
    assert support.queue_id == first_level.id
    services.transition(focal, support.id, "atender")
    services.transition(
        focal, support.id, "escalar", comment="Probamos con otro navegador y otro usuario."
    )
    support = Ticket.get_by_id(support.id)
    escalation = Ticket.get(Ticket.parent == support.id)
    path.append(escalation)
    assert support.state == "esperando_sge" and support.waiting_on_id == escalation.id
    assert escalation.queue_level == SECOND_LEVEL
    assert escalation.fields["descripcion"] == support.fields["descripcion"]
    services.set_checklist_item(focal, escalation.id, "reprodujo", True)
    services.set_checklist_item(focal, escalation.id, "permisos", True)
    assert get_visible_ticket(interno, escalation.id) is None  # SGE's work, not the user's
    services.transition(agq, escalation.id, "analizar")
    with pytest.raises(GuardFailed):  # SGE answers with the resolution
        services.transition(agq, escalation.id, "resolver")
    services.transition(
        agq, escalation.id, "resolver", comment="Se corrigió el permiso de reasignación del área."
    )
    support = Ticket.get_by_id(support.id)
    assert (support.state, support.waiting_on_id) == ("resuelto", None)
    assert support.queue_id == first_level.id
    told = mails_to(interno.email, "state_changed")[-1]
    assert told.ticket_id == support.id
    assert "permiso de reasignación" in told.context["comment"]

    # -- nothing of it is visible to another institution
    for ticket in path:
        for key in ("focal_b", "aiq_b", "interno_b"):
            assert get_visible_ticket(user(key), ticket.id) is None, (key, ticket.title)
        with pytest.raises(NotFound):
            services.transition(user("aiq_b"), ticket.id, "completar")
        with pytest.raises(NotFound):
            services.add_comment(user("focal_b"), ticket.id, "¿Qué es esto?")

    # -- passwords never travel by mail
    assert assert_no_password_in_outbox(PASSWORD) > 20
    assert any(row.body for row in mails_to(NEW_AIQ_EMAIL))


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
    """A step 3 that waits a week still gives the AIQ its full 15 days."""
    agq = user("agq")
    solicitud = services.open_ticket(agq, "solicitud-uso", "Solicitud MINTUR", oficio_fields())
    services.transition(agq, solicitud.id, "aceptar")
    training = next_step(solicitud, "capacitacion-aiq")
    for key in ("bandeja_entrada", "bandeja_salida", "administracion"):
        services.set_checklist_item(agq, training.id, key, True)
    services.transition(agq, training.id, "completar")
    setup = next_step(training, "ambiente-capacitacion")
    age_ticket(setup.id, 7)
    for key in ("institucion_creada", "usuario_admin", "plantilla_seguimiento"):
        services.set_checklist_item(agq, setup.id, key, True)
    services.transition(agq, setup.id, "completar")
    step4 = next_step(setup, "parametrizacion-capacitacion")
    assert abs((step4.due_at - now()) - dt.timedelta(days=15)) < dt.timedelta(seconds=5)
