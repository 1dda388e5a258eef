"""The outbox view and the mail template editor: AGQ only, scoped, re-send and preview."""

import re

import pytest

from tests.conftest import make_ticket, text_of, user
from ticketing.models import FAILED, SENT, NotificationTemplate, Outbox, TicketEvent

ROLES_WITHOUT_ACCESS = ["interno", "focal", "aiq", "aiq_b"]


def _submit(client, page_url, data, post_url=None, **kwargs):
    """Post a form as the browser does, with the CSRF token of the page it is on."""
    page = client.get(page_url).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    if token:
        data = {**data, "csrf_token": token.group(1)}
    return client.post(post_url or page_url, data=data, **kwargs)


def _action(client, url, action, ids):
    data = {"action": action, "rowid": [str(i) for i in ids]}
    return _submit(client, url, data, f"{url}action/", follow_redirects=True)


def _escalation():
    return make_ticket(
        user("focal"),
        "escalamiento-sge",
        title="Firma electrónica no funciona",
        fields={"modulo": "firma_electronica", "descripcion": "Error al firmar"},
    )


@pytest.mark.parametrize("key", ROLES_WITHOUT_ACCESS)
def test_only_the_agq_reaches_the_mail_screens(app, client, auth, key):
    auth.login(key)
    for url in ("/correo-saliente/", "/plantillas-correo/", "/plantillas-correo/preview/"):
        assert client.get(url).status_code == 404, url


@pytest.mark.config(OUTBOX_MAX_ATTEMPTS=1)
def test_agq_sees_failed_mail_and_resends_it(app, client, auth, smtp):
    smtp.stop()
    ticket = _escalation()
    failed = list(Outbox.select().where(Outbox.ticket == ticket.id))
    assert failed and all(r.status == FAILED for r in failed)
    assert TicketEvent.select().where(TicketEvent.kind == "mail_failed").count() == len(failed)
    auth.login("agq")
    page = text_of(client.get("/correo-saliente/?flt0_0=failed"))
    assert "Fallido" in page and failed[0].recipient in page

    smtp.start()
    response = _action(client, "/correo-saliente/", "resend", [r.id for r in failed])
    assert response.status_code == 200
    assert "puestos de nuevo en la cola" in text_of(response)
    assert all(r.status == SENT for r in Outbox.select().where(Outbox.ticket == ticket.id))
    assert len(smtp.messages) == len(failed)


@pytest.mark.config(OUTBOX_MAX_ATTEMPTS=1)
def test_agq_neither_sees_nor_resends_first_level_mail(app, client, auth, smtp):
    smtp.stop()
    ticket = make_ticket(user("interno_b"), title="PRIVADO-B-991")
    rows = list(Outbox.select().where(Outbox.ticket == ticket.id))
    assert rows and all(r.status == FAILED for r in rows)
    smtp.start()
    auth.login("agq")
    assert "interno_b@instb.ec" not in text_of(client.get("/correo-saliente/"))
    details = client.get(f"/correo-saliente/details/?id={rows[0].id}", follow_redirects=True)
    assert "PRIVADO-B-991" not in text_of(details)
    response = _action(client, "/correo-saliente/", "resend", [rows[0].id])
    assert "Solo se reenvían correos fallidos" in text_of(response)
    assert Outbox.get_by_id(rows[0].id).status == FAILED
    assert smtp.messages == []


def test_invitation_link_is_not_shown_in_the_outbox(app, client, auth):
    from ticketing import services
    from ticketing.models import Institution

    services.create_user(
        services.SYSTEM,
        full_name="Nueva Persona",
        cedula="1710000082",
        email="nueva@insta.ec",
        role="focal",
        institution_id=Institution.get(Institution.sigla == "INSTA").id,
    )
    row = Outbox.get(Outbox.event == "invitation")
    assert "/password/" in row.body
    auth.login("agq")
    page = text_of(client.get(f"/correo-saliente/details/?id={row.id}"))
    assert "nueva@insta.ec" in page
    assert "/password/" not in page


def _template_form(template, **changes):
    data = {
        "event": template.event,
        "type_slug": template.type_slug,
        "locale": template.locale,
        "subject": template.subject,
        "text": template.text,
        "html": template.html,
    }
    data.update(changes)
    return data


def test_invalid_jinja_is_refused_with_a_clear_message_and_nothing_saved(app, client, auth):
    template = NotificationTemplate.get(
        (NotificationTemplate.event == "ticket_opened") & (NotificationTemplate.locale == "es")
    )
    auth.login("agq")
    response = _submit(
        client,
        f"/plantillas-correo/edit/?id={template.id}",
        _template_form(template, text="Hola {{ reference "),
    )
    assert response.status_code == 200
    page = text_of(response)
    assert "Plantilla inválida en la línea 1" in page
    assert NotificationTemplate.get_by_id(template.id).text == template.text


def test_agq_edits_a_template_and_the_next_mail_uses_it(app, client, auth, smtp):
    template = NotificationTemplate.get(
        (NotificationTemplate.event == "ticket_opened") & (NotificationTemplate.locale == "es")
    )
    auth.login("agq")
    response = _submit(
        client,
        f"/plantillas-correo/edit/?id={template.id}",
        _template_form(template, subject="[{{ reference }}] Registrado: {{ title }}"),
    )
    assert response.status_code == 302
    ticket = make_ticket(user("interno"), title="Prueba", source="mail")
    [message] = smtp.mailbox.to("interno@insta.ec")
    assert message["subject"] == f"[{ticket.reference}] Registrado: Prueba"


def test_a_second_template_for_the_same_event_type_and_language_is_refused(app, client, auth):
    auth.login("agq")
    template = NotificationTemplate.get(
        (NotificationTemplate.event == "assigned") & (NotificationTemplate.locale == "en")
    )
    before = NotificationTemplate.select().count()
    response = _submit(client, "/plantillas-correo/new/", _template_form(template))
    assert "Ya existe una plantilla" in text_of(response)
    assert NotificationTemplate.select().count() == before
    response = _submit(
        client, "/plantillas-correo/new/", _template_form(template, type_slug="soporte")
    )
    assert response.status_code == 302
    assert NotificationTemplate.select().count() == before + 1


def test_preview_renders_a_draft_against_sample_data(app, client, auth):
    auth.login("agq")
    response = client.post(
        "/plantillas-correo/preview/",
        data={"subject": "[{{ reference }}] {{ title }}", "text": "Hola {{ actor }}", "html": ""},
    )
    page = text_of(response)
    assert "[MESA-123] No llega mi documento" in page
    assert "Hola Carla Díaz" in page
    broken = text_of(
        client.post("/plantillas-correo/preview/", data={"subject": "{% if %}", "text": "x"})
    )
    assert "Plantilla inválida" in broken


def test_preview_of_a_saved_template(app, client, auth):
    template = NotificationTemplate.get(
        (NotificationTemplate.event == "course_dates_set") & (NotificationTemplate.locale == "es")
    )
    auth.login("agq")
    page = text_of(client.get(f"/plantillas-correo/preview/?id={template.id}"))
    assert "Bandeja de entrada (4 horas)" in page


@pytest.mark.config(OUTBOX_MAX_ATTEMPTS=1)
def test_a_failed_mail_is_noted_on_the_ticket_for_its_agents_only(app, client, auth, smtp):
    smtp.stop()
    ticket = make_ticket(user("interno"), source="mail")
    auth.login("focal")
    page = text_of(client.get(f"/ticket/{ticket.id}/"))
    assert "No se pudo enviar un correo a interno@insta.ec" in page
    auth.login("interno")
    page = text_of(client.get(f"/ticket/{ticket.id}/"))
    assert ticket.title in page and "No se pudo enviar un correo" not in page


def test_without_a_mail_server_the_outbox_says_mail_is_kept_not_sent(app, client, auth):
    ticket = _escalation()
    auth.login("agq")
    page = text_of(client.get("/correo-saliente/"))
    assert "No hay servidor de correo configurado" in page
    assert "Registrado sin enviar" in page and ticket.reference in page
