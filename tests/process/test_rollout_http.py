"""The whole Quipux path over HTTP, as each person would click through it."""

import datetime as dt
import io
import re

from notifications.reminders import send_reminders
from tests.conftest import PASSWORD, text_of, user
from tests.process.helpers import (
    NEW_AIQ_EMAIL,
    NEW_AIQ_PASSWORD,
    OFICIO,
    PDF,
    age_ticket,
    assert_no_password_in_outbox,
    mails_to,
    new_aiq,
    next_step,
    second_agq,
)
from tests.process.outsiders import OutsiderBrowsers, b_at_work
from ticketing.models import (
    STAGES,
    Institution,
    Queue,
    StageChange,
    Ticket,
    TicketType,
    TrackingItem,
    User,
)

FOCAL_PASSWORD = "Focal-de-Mintur-2025"
INTERNO_PASSWORD = "Interno-de-Mintur-2025"


def sign_in(client, email, password):
    client.post("/logout")
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 302, text_of(response)[:500]


def accept_invitation(client, email, password):
    """Follow the link of the invitation mail and choose a password."""
    client.post("/logout")
    (invitation,) = mails_to(email, "invitation")
    path = invitation.context["url"].removeprefix("http://mesa.test")
    assert client.get(path).status_code == 200
    response = client.post(path, data={"password": password, "confirm": password})
    assert response.status_code == 302, text_of(response)[:500]


def post(client, url, data=None, **kwargs):
    """POST and follow the redirect, so the page shows the flashed outcome."""
    return client.post(url, data=data or {}, follow_redirects=True, **kwargs)


def transition(client, ticket_id, name, comment=""):
    return post(client, f"/ticket/{ticket_id}/transition", {"name": name, "comment": comment})


def tick(client, ticket_id, key, **extra):
    return post(client, f"/ticket/{ticket_id}/checklist/{key}", {"done": "1", **extra})


def state(ticket_id) -> str:
    return Ticket.get_by_id(ticket_id).state


def create_person(client, **data):
    """The AIQ adds a person of the institution on the Personas screen."""
    form = client.get("/personas/new/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form)
    token = token or re.search(r'name="csrf_token" value="([^"]+)"', form)
    response = client.post("/personas/new/", data={"csrf_token": token.group(1), **data})
    assert response.status_code == 302, text_of(response)[:1500]
    return User.get(User.email == data["email"])


def test_whole_path_over_http(app, client, auth):
    b_at_work()  # institution B has tickets of its own, in both queues
    outsiders = OutsiderBrowsers(app)  # B's people, signed in; they must see nothing of it
    agq2 = second_agq()
    path = []

    # -- step 1: the AGQ registers the oficio with its PDF, then accepts it
    auth.login("aiq")
    assert client.get("/nuevo/solicitud-uso/").status_code == 404  # not the AIQ's to open
    auth.login("agq")
    form = client.get("/nuevo/solicitud-uso/")
    assert form.status_code == 200
    for label in ("RUC", "Sigla", "Número de cédula", "Número telefónico y extensión", "Oficio"):
        assert label in text_of(form)
    data = {f"f_{name}": value for name, value in OFICIO.items()}
    data["title"] = "Solicitud de uso de Quipux — MINTUR"
    data["f_oficio_pdf"] = (io.BytesIO(PDF), "oficio-0412.pdf", "application/pdf")
    response = client.post("/nuevo/solicitud-uso/", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, text_of(response)[:3000]
    solicitud = Ticket.get(Ticket.title == "Solicitud de uso de Quipux — MINTUR")
    path.append(solicitud)
    page = text_of(client.get(f"/ticket/{solicitud.id}/"))
    assert "oficio-0412.pdf" in page and "MINTUR-DM-2025-0412-O" in page
    assert "Mesa de ayuda SGE" in page
    assert f"MESA-{solicitud.id}<" in text_of(client.get("/cola/"))  # in SGE's queue
    row = _pipeline_row(client.get("/implantacion/"), "MINTUR")  # at the first stage
    assert 'data-stage="solicitud"' in row and "Oficio por aceptar" in row
    assert f'data-testid="reached-solicitud">{solicitud.created_at:%Y-%m-%d}<' in row
    outsiders.check(path)
    page = transition(client, solicitud.id, "aceptar")
    assert state(solicitud.id) == "aceptada", text_of(page)[:2000]
    institution = Institution.get(Institution.sigla == "MINTUR")
    outsiders.check(path, institution)

    # -- the new AIQ accepts the invitation (no password travels) and signs in
    accept_invitation(client, NEW_AIQ_EMAIL, NEW_AIQ_PASSWORD)
    sign_in(client, NEW_AIQ_EMAIL, NEW_AIQ_PASSWORD)
    assert "Capacitación del AIQ — MINTUR" in text_of(client.get("/mis-tickets/"))
    training = next_step(solicitud, "capacitacion-aiq")
    path.append(training)

    # -- step 2: SGE sets each course's date (mailed to the AIQ) and records attendance
    auth.login("agq")
    refused = transition(client, training.id, "completar")
    assert "Faltan ítems de la lista de verificación" in text_of(refused)
    for n, key in enumerate(("bandeja_entrada", "bandeja_salida", "administracion"), start=7):
        post(
            client,
            f"/ticket/{training.id}/checklist/{key}",
            {"done": "0", "scheduled_at": f"2025-04-{n:02d}T09:00"},
        )
    assert len(mails_to(NEW_AIQ_EMAIL, "course_dates_set")) == 3
    sign_in(client, NEW_AIQ_EMAIL, NEW_AIQ_PASSWORD)
    page = text_of(client.get(f"/ticket/{training.id}/"))
    assert "2025-04-09 09:00" in page and "4 h" in page
    assert "Su rol no puede marcar" in text_of(tick(client, training.id, "bandeja_entrada"))
    outsiders.check(path, institution)
    auth.login("agq")
    for key in ("bandeja_entrada", "bandeja_salida", "administracion"):
        tick(client, training.id, key)
    transition(client, training.id, "completar")
    assert state(training.id) == "aprobada"

    # -- step 3: the AGQ's checklist; completion tells the AIQ
    setup = next_step(training, "ambiente-capacitacion")
    path.append(setup)
    for key in ("institucion_creada", "usuario_admin", "plantilla_seguimiento"):
        tick(client, setup.id, key)
    transition(client, setup.id, "completar")
    assert state(setup.id) == "listo"
    assert len(mails_to(NEW_AIQ_EMAIL, "setup_ready")) == 1
    outsiders.check(path, institution)

    # -- step 4: the AIQ trains a focal user, records the mailbox and ticks its checklist
    parametrization = next_step(setup, "parametrizacion-capacitacion")
    path.append(parametrization)
    setup = Ticket.get_by_id(setup.id)
    assert (
        dt.timedelta(days=15)
        <= parametrization.due_at - setup.closed_at
        <= dt.timedelta(days=15, seconds=5)
    )
    sign_in(client, NEW_AIQ_EMAIL, NEW_AIQ_PASSWORD)
    focal = create_person(
        client,
        full_name="Pablo Quintero",
        cedula="1710000124",
        email="pablo.quintero@mintur.gob.ec",
        role="focal",
        cargo="Analista de TI",
        active="y",
    )
    interno = create_person(
        client,
        full_name="Rosa Salazar",
        cedula="1710000132",
        email="rosa.salazar@mintur.gob.ec",
        role="interno",
        cargo="Asistente",
        active="y",
    )
    assert focal.institution_id == interno.institution_id == institution.id
    ticket = Ticket.get_by_id(parametrization.id)
    edit = client.get(f"/ticket/{ticket.id}/edit").get_data(as_text=True)
    assert "Pablo Quintero" in edit and user("focal_b").full_name not in edit
    response = client.post(
        f"/ticket/{ticket.id}/edit",
        data={
            "title": ticket.title,
            "version": ticket.version,
            "f_usuarios_focales": [str(focal.id)],
            "f_correo_soporte": "mesadeayuda@mintur.gob.ec",
        },
    )
    assert response.status_code == 302, text_of(response)[:2000]
    page = text_of(client.get(f"/ticket/{ticket.id}/"))
    assert "Pablo Quintero" in page and "mesadeayuda@mintur.gob.ec" in page
    for key in ("parametrizado", "focales_capacitados", "correo_creado"):
        tick(client, ticket.id, key)
    outsiders.check(path, institution)

    # fourteen days on it is not late; sixteen days on it is flagged in the lists, the
    # pipeline, the institution's page, and the reminder has gone out
    age_ticket(ticket.id, 14)
    auth.login("agq")
    assert f"MESA-{ticket.id}<" not in text_of(client.get("/cola/?view=overdue"))
    age_ticket(ticket.id, 2)
    send_reminders()  # what the cron does
    assert mails_to(NEW_AIQ_EMAIL, "deadline_passed")[-1].ticket_id == ticket.id
    queue = text_of(client.get("/cola/?view=all"))
    assert re.search(rf"MESA-{ticket.id}</a>.*?Vencido", queue)
    assert f"MESA-{ticket.id}<" in text_of(client.get("/cola/?view=overdue"))
    pipeline = client.get("/implantacion/")
    rows = re.findall(r'data-testid="pipeline-row-(\w+)"', pipeline.get_data(as_text=True))
    assert rows[0] == "MINTUR"
    assert "table-danger" in _pipeline_row(pipeline, "MINTUR").split(">", 1)[0]
    sign_in(client, NEW_AIQ_EMAIL, NEW_AIQ_PASSWORD)
    assert "Vencido" in text_of(client.get(f"/ticket/{ticket.id}/"))
    assert f"MESA-{ticket.id}<" in text_of(client.get("/cola/?view=overdue"))  # the AIQ's too
    assert "1 paso(s) vencido(s)" in text_of(client.get(f"/institucion/{institution.id}/"))
    outsiders.check(path, institution)
    transition(client, ticket.id, "completar")
    assert state(ticket.id) == "completada"
    assert f"MESA-{ticket.id}<" not in text_of(client.get("/cola/?view=overdue"))
    assert (
        Queue.get((Queue.institution == institution) & (Queue.level == 1)).email
        == "mesadeayuda@mintur.gob.ec"
    )

    # -- step 5: the AIQ's mail asking for production reached SGE; a second AGQ registers it
    # on the AIQ's behalf, which makes that AGQ one of those who asked for it
    assert "Paso a producción" in text_of(client.get("/nuevo/"))  # the AIQ could open it too
    sign_in(client, agq2.email, PASSWORD)
    url = f"/institucion/{institution.id}/registrar/paso-produccion/"
    response = client.post(
        url,
        data={
            "on_behalf_of": new_aiq().id,
            "title": "Paso a producción — MINTUR",
            "f_resumen": "Parametrizadas áreas, usuarios y plantillas; 40 usuarios formados.",
        },
    )
    assert response.status_code == 302, text_of(response)[:2000]
    request = Ticket.get(Ticket.title == "Paso a producción — MINTUR")
    path.append(request)
    assert (request.requester_id, request.queue_level) == (new_aiq().id, 2)
    assert Institution.get_by_id(institution.id).stage == "paso_produccion"
    # approval by its own requester: refused, and said so beside the button
    page = text_of(client.get(f"/ticket/{request.id}/"))
    assert "Quien solicitó o registró esta solicitud no puede aprobarla." in page
    page = text_of(transition(client, request.id, "aprobar"))
    assert "no puede aprobarla" in page and state(request.id) == "solicitado"
    # approval by an AIQ: not offered, and refused if tried
    sign_in(client, NEW_AIQ_EMAIL, NEW_AIQ_PASSWORD)
    assert "Paso a producción — MINTUR" in text_of(client.get("/mis-tickets/"))
    page = text_of(client.get(f"/ticket/{request.id}/"))
    assert 'data-testid="transition-aprobar"' not in page
    assert "Su rol no puede realizar esta acción." in text_of(
        transition(client, request.id, "aprobar")
    )
    assert state(request.id) == "solicitado"
    outsiders.check(path, institution)

    # -- step 6: the AGQ reviews against the plantilla; unmet items refuse the approval
    auth.login("agq")
    assert "Paso a producción — MINTUR" in text_of(client.get("/cola/"))
    page = text_of(transition(client, request.id, "aprobar"))
    assert "La plantilla de seguimiento tiene ítems sin cumplir" in page
    assert state(request.id) == "solicitado"
    transition(client, request.id, "devolver", comment="Falta capacitar a los usuarios finales.")
    assert state(request.id) == "devuelto"
    (returned,) = [r for r in mails_to(NEW_AIQ_EMAIL, "rejected") if r.ticket_id == request.id]
    assert "Falta capacitar a los usuarios finales." in returned.body
    sign_in(client, NEW_AIQ_EMAIL, NEW_AIQ_PASSWORD)
    page = text_of(client.get(f"/ticket/{request.id}/"))
    assert "Devuelto al AIQ" in page and "Falta capacitar a los usuarios finales." in page
    transition(client, request.id, "reenviar", comment="Usuarios finales capacitados.")
    assert state(request.id) == "solicitado"

    auth.login("agq")
    tracking = client.get(f"/seguimiento/{institution.id}/")
    assert tracking.status_code == 200
    items = list(institution.tracking_items.order_by(TrackingItem.order))
    assert all(item.label in text_of(tracking) for item in items)
    for item in items[:-1]:
        post(client, f"/seguimiento/{institution.id}/item/{item.id}", {"met": "1", "note": "OK"})
    page = text_of(transition(client, request.id, "aprobar"))
    assert items[-1].label in page and state(request.id) == "solicitado"
    post(client, f"/seguimiento/{institution.id}/item/{items[-1].id}", {"met": "1"})
    assert (
        not TrackingItem.select()
        .where((TrackingItem.institution == institution) & (TrackingItem.met == False))
        .exists()
    )
    sign_in(client, agq2.email, PASSWORD)  # every item met: still not who asked for it
    assert "no puede aprobarla" in text_of(transition(client, request.id, "aprobar"))
    assert state(request.id) == "solicitado"
    auth.login("agq")
    transition(client, request.id, "aprobar")
    assert state(request.id) == "aprobado"
    assert Institution.get_by_id(institution.id).stage == "produccion"
    assert mails_to(NEW_AIQ_EMAIL, "production_approved")[-1].ticket_id == request.id
    outsiders.check(path, institution)

    # -- step 7: production, by the AIQ
    production = next_step(request, "parametrizacion-produccion")
    path.append(production)
    sign_in(client, NEW_AIQ_EMAIL, NEW_AIQ_PASSWORD)
    for key in ("produccion_parametrizada", "correo_difundido"):
        tick(client, production.id, key)
    transition(client, production.id, "completar")
    assert state(production.id) == "completada"

    # the institution's page and the pipeline show each stage with the date it was reached
    changes = list(StageChange.select().where(StageChange.institution == institution.id))
    assert [c.stage for c in changes] == list(STAGES)
    page = client.get(f"/institucion/{institution.id}/").get_data(as_text=True)
    for change in changes:
        assert f'data-testid="reached-{change.stage}">{change.reached_at:%Y-%m-%d}<' in page
    assert "Etapa actual: Producción" in text_of(client.get(f"/institucion/{institution.id}/"))
    auth.login("agq")
    row = _pipeline_row(client.get("/implantacion/"), "MINTUR")
    for change in changes:
        assert f'data-testid="reached-{change.stage}">{change.reached_at:%Y-%m-%d}<' in row
    outsiders.check(path, institution)

    # -- support: an internal user asks, the focal user escalates, SGE resolves
    accept_invitation(client, interno.email, INTERNO_PASSWORD)
    accept_invitation(client, focal.email, FOCAL_PASSWORD)
    sign_in(client, interno.email, INTERNO_PASSWORD)
    response = client.post(
        "/nuevo/soporte/",
        data={
            "title": "No puedo reasignar un documento",
            "f_categoria": "incidente",
            "f_modulo": "bandeja_entrada",
            "f_descripcion": "Al reasignar un oficio aparece un error de permisos.",
            "f_adjunto": (io.BytesIO(b"\x89PNG\r\n\x1a\ncaptura"), "captura.png", "image/png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, text_of(response)[:2000]
    support = Ticket.get(Ticket.title == "No puedo reasignar un documento")
    path.append(support)
    sign_in(client, focal.email, FOCAL_PASSWORD)
    assert "No puedo reasignar un documento" in text_of(client.get("/cola/"))
    transition(client, support.id, "atender")
    refused = transition(client, support.id, "escalar")
    assert "requiere un comentario" in text_of(refused) and state(support.id) == "en_atencion"
    transition(client, support.id, "escalar", comment="Probamos con otro navegador y usuario.")
    assert state(support.id) == "esperando_sge"
    escalation = Ticket.get(Ticket.parent == support.id)
    path.append(escalation)
    assert escalation.type.slug == "escalamiento-sge"
    tick(client, escalation.id, "reprodujo")
    tick(client, escalation.id, "permisos")
    assert f"MESA-{support.id}<" in text_of(client.get("/cola/?view=waiting_sge"))
    outsiders.check(path, institution)

    auth.login("agq")
    page = text_of(client.get(f"/ticket/{escalation.id}/"))
    assert "Probamos con otro navegador y usuario." in page and "Se reprodujo el problema" in page
    transition(client, escalation.id, "analizar")
    transition(client, escalation.id, "resolver", comment="Se corrigió el permiso del área.")
    assert state(escalation.id) == "resuelto"
    assert state(support.id) == "por_confirmar"
    sign_in(client, interno.email, INTERNO_PASSWORD)
    page = text_of(client.get(f"/ticket/{support.id}/"))
    assert "Por confirmar" in page and "Se corrigió el permiso del área." in page
    assert "Sí, se resolvió" in page and "No se resolvió" in page
    assert mails_to(interno.email, "resolution_check")[-1].ticket_id == support.id
    sign_in(client, focal.email, FOCAL_PASSWORD)  # back in the first level's queue
    assert f"MESA-{support.id}<" in text_of(client.get("/cola/?view=all"))
    assert mails_to(focal.email, "returned")[-1].ticket_id == support.id

    # -- nothing of it reached another institution: pages, lists, counts, exports, API,
    # attachments, search and every state-changing route
    outsiders.check(path, institution, deep=True)
    # the rollout screens are the AGQ's
    for email, password in ((NEW_AIQ_EMAIL, NEW_AIQ_PASSWORD), (focal.email, FOCAL_PASSWORD)):
        sign_in(client, email, password)
        assert client.get(f"/institucion/{institution.id}/").status_code == 200
        for url in (
            "/implantacion/",
            "/seguimiento/",
            f"/seguimiento/{institution.id}/",
            f"/institucion/{institution.id}/registrar/paso-produccion/",
        ):
            assert client.get(url).status_code == 404, (email, url)
        response = client.post(
            f"/seguimiento/{institution.id}/item/{items[0].id}", data={"met": "0"}
        )
        assert response.status_code == 404
    assert TrackingItem.get_by_id(items[0].id).met

    # -- passwords never travel by mail
    assert (
        assert_no_password_in_outbox(PASSWORD, NEW_AIQ_PASSWORD, FOCAL_PASSWORD, INTERNO_PASSWORD)
        > 20
    )


def _pipeline_row(response, sigla: str) -> str:
    """The HTML of one institution's row in the pipeline page."""
    page = response.get_data(as_text=True)
    found = re.search(rf'<tr data-testid="pipeline-row-{sigla}".*?</tr>', page, re.S)
    assert found, f"{sigla} is not in the pipeline"
    return found[0]


def test_aiq_asks_for_production_in_the_ui_and_it_lands_in_sges_queue(client, auth, rollout):
    institution = rollout.institution
    sign_in(client, rollout.aiq.email, rollout.password)
    assert "Paso a producción" in text_of(client.get("/nuevo/"))
    response = client.post(
        "/nuevo/paso-produccion/",
        data={
            "title": "Paso a producción — MINTUR",
            "f_resumen": "Parametrizadas áreas, usuarios y plantillas; 40 usuarios formados.",
        },
    )
    assert response.status_code == 302, text_of(response)[:2000]
    request = Ticket.get(Ticket.title == "Paso a producción — MINTUR")
    assert (request.requester_id, request.queue_level) == (rollout.aiq.id, 2)
    assert Institution.get_by_id(institution.id).stage == "paso_produccion"
    assert "Su rol no puede realizar esta acción." in text_of(
        transition(client, request.id, "aprobar")
    )
    auth.login("agq")
    assert f"MESA-{request.id}<" in text_of(client.get("/cola/"))
    page = text_of(transition(client, request.id, "aprobar"))
    assert "La plantilla de seguimiento tiene ítems sin cumplir" in page
    assert state(request.id) == "solicitado"
    # once in production, the AIQ's menu no longer offers it, and the route refuses it
    TrackingItem.update(met=True).where(TrackingItem.institution == institution).execute()
    transition(client, request.id, "aprobar")
    assert state(request.id) == "aprobado"
    sign_in(client, rollout.aiq.email, rollout.password)
    assert "Paso a producción" not in text_of(client.get("/nuevo/"))
    assert client.get("/nuevo/paso-produccion/").status_code == 404


def test_agq_who_registered_a_mailed_request_cannot_approve_it(client, auth, rollout):
    """Step 5 by mail: a second AGQ registers it for the AIQ and so may not approve it."""
    institution, aiq = rollout.institution, rollout.aiq
    agq2 = rollout.second_agq()
    TrackingItem.update(met=True).where(TrackingItem.institution == institution).execute()

    sign_in(client, agq2.email, PASSWORD)
    page = text_of(client.get(f"/institucion/{institution.id}/"))
    assert "Registrar una solicitud recibida por correo" in page and "Paso a producción" in page
    url = f"/institucion/{institution.id}/registrar/paso-produccion/"
    assert aiq.full_name in text_of(client.get(url))
    response = client.post(
        url,
        data={
            "on_behalf_of": aiq.id,
            "title": "Paso a producción (correo del AIQ)",
            "f_resumen": "Correo del AIQ del 2 de mayo: parametrización terminada.",
        },
    )
    assert response.status_code == 302, text_of(response)[:2000]
    request = Ticket.get(Ticket.title == "Paso a producción (correo del AIQ)")
    assert (request.requester_id, request.institution_id) == (aiq.id, institution.id)

    page = text_of(client.get(f"/ticket/{request.id}/"))
    assert "Quien solicitó o registró esta solicitud no puede aprobarla." in page
    page = text_of(transition(client, request.id, "aprobar"))
    assert "no puede aprobarla" in page and state(request.id) == "solicitado"
    auth.login("agq")
    transition(client, request.id, "aprobar")
    assert state(request.id) == "aprobado"
    assert Institution.get_by_id(institution.id).stage == "produccion"


def test_registering_for_someone_is_the_agqs_and_only_for_who_may_open(client, auth, rollout):
    institution = rollout.institution
    url = f"/institucion/{institution.id}/registrar/paso-produccion/"
    sign_in(client, rollout.aiq.email, rollout.password)
    assert client.get(url).status_code == 404
    auth.login("agq")
    # only someone of the institution who may open the type: not the AGQ itself
    response = post(
        client,
        url,
        {"on_behalf_of": user("agq").id, "title": "x", "f_resumen": "x"},
    )
    assert "Elija a nombre de quién se registra." in text_of(response)
    # what stays in the first level is not the AGQ's to register
    url = f"/institucion/{institution.id}/registrar/soporte/"
    assert client.get(url).status_code == 404
    assert not (
        Ticket.select().join(TicketType).where(TicketType.slug == "paso-produccion").exists()
    )
