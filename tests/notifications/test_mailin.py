"""Mail in: a message to a queue opens a ticket, a reply comments, anything else is refused and kept."""

from email.message import EmailMessage

import pytest

from mailgate.inbound import ACCEPTED, REFUSED, receive, trim_reply
from tests.conftest import make_ticket, text_of, user
from ticketing import services
from ticketing.models import Comment, InboundMail, Outbox, Queue, Ticket

SGE_ADDRESS = "soporte@administracionpublica.gob.ec"


def mail(sender, to, subject, body="Hola", **headers) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{abs(hash((sender, subject, body)))}@cliente.example>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return bytes(message)


def _set_queue_address(sigla: str, address: str) -> Queue:
    queue = Queue.get(Queue.name == f"Mesa de ayuda {sigla}")
    Queue.update(email=address).where(Queue.id == queue.id).execute()
    return Queue.get_by_id(queue.id)


def test_mail_to_sge_from_a_focal_user_opens_an_escalation(app):
    focal = user("focal")
    raw = mail(
        f"Carla <{focal.email.upper()}>",
        SGE_ADDRESS,
        "No se puede firmar",
        "El token no es reconocido.\n\n-- \nCarla, TI",
    )
    record = receive(raw)
    assert record.status == ACCEPTED, record.reason
    ticket = Ticket.get_by_id(record.ticket_id)
    assert ticket.type.slug == "escalamiento-sge"
    assert ticket.queue_level == 2 and ticket.institution_id == focal.institution_id
    assert ticket.requester_id == focal.id
    assert ticket.title == "No se puede firmar"
    assert ticket.fields["descripcion"] == "El token no es reconocido."
    assert bytes(InboundMail.get_by_id(record.id).raw) == raw


def test_mail_to_an_institutions_help_desk_opens_a_support_ticket_there(app):
    _set_queue_address("INSTA", "mesa@insta.ec")
    interno = user("interno")
    record = receive(mail(interno.email, "Mesa <mesa@insta.ec>", "Clave", "Olvidé mi clave"))
    assert record.status == ACCEPTED, record.reason
    ticket = Ticket.get_by_id(record.ticket_id)
    assert ticket.type.slug == "soporte" and ticket.queue_level == 1
    assert ticket.fields["descripcion"] == "Olvidé mi clave"
    # required choice fields stay empty: the ticket opens incomplete, not refused
    assert not ticket.fields.get("categoria")


def test_first_level_queue_refuses_people_of_another_institution(app):
    _set_queue_address("INSTA", "mesa@insta.ec")
    before = Ticket.select().count()
    record = receive(mail(user("interno_b").email, "mesa@insta.ec", "Hola", "Soy de B"))
    assert record.status == REFUSED
    assert "institución" in record.reason
    assert Ticket.select().count() == before


def test_role_that_may_not_open_at_sge_is_refused(app):
    record = receive(mail(user("interno").email, SGE_ADDRESS, "Ayuda", "Directo a SGE"))
    assert record.status == REFUSED and "rol" in record.reason


def test_reply_threads_onto_the_referenced_ticket_and_trims_the_quote(app):
    interno = user("interno")
    first = make_ticket(interno, title="Primero")
    second = make_ticket(interno, title="Segundo")
    body = (
        "Ya funciona, gracias.\n\n"
        "El lun, 3 mar 2025 a las 10:00, Mesa <soporte@administracionpublica.gob.ec>\n"
        "escribió:\n> Su ticket fue registrado\n> texto citado"
    )
    record = receive(mail(interno.email, SGE_ADDRESS, f"RE: [{second.reference}] Segundo", body))
    assert record.status == ACCEPTED, record.reason
    assert record.ticket_id == second.id
    comment = Comment.select().where(Comment.ticket == second.id).get()
    assert comment.body == "Ya funciona, gracias."
    assert comment.source == "mail" and comment.internal is False
    assert not Comment.select().where(Comment.ticket == first.id).exists()


def test_reply_without_reference_threads_by_in_reply_to(app):
    interno = user("interno")
    ticket = make_ticket(interno)
    services.add_comment(user("focal"), ticket.id, "¿Qué versión usa?")
    ours = Outbox.get((Outbox.ticket == ticket.id) & (Outbox.recipient == interno.email))
    record = receive(
        mail(
            interno.email,
            SGE_ADDRESS,
            "Re: su ticket",
            "Adjunto más datos",
            In_Reply_To=ours.message_id,
        )
    )
    assert record.status == ACCEPTED, record.reason
    assert Comment.get(Comment.ticket == ticket.id, Comment.source == "mail").body == (
        "Adjunto más datos"
    )


def _answered_by_sge(interno) -> Ticket:
    ticket = make_ticket(interno, title="No puedo firmar")
    services.transition(user("focal"), ticket.id, "escalar", comment="Probamos otro equipo.")
    escalation = Ticket.get(Ticket.parent == ticket.id)
    services.transition(user("agq"), escalation.id, "resolver", comment="Certificado renovado.")
    return Ticket.get_by_id(ticket.id)


def test_the_requesters_reply_to_the_resolution_question_reopens_it(app):
    interno = user("interno")
    ticket = _answered_by_sge(interno)
    asked = Outbox.get(
        (Outbox.ticket == ticket.id)
        & (Outbox.recipient == interno.email)
        & (Outbox.event == "resolution_check")
    )
    body = "No, sigue fallando al firmar.\n\nEl lun, Mesa escribió:\n> ¿Se resolvió su consulta?"
    record = receive(mail(interno.email, SGE_ADDRESS, f"RE: {asked.subject}", body))
    assert record.status == ACCEPTED, record.reason
    assert record.ticket_id == ticket.id
    ticket = Ticket.get_by_id(ticket.id)
    assert ticket.state == "en_atencion"  # "No se resolvió", the reply its comment
    reply = Comment.select().where(Comment.ticket == ticket.id).order_by(Comment.id.desc()).get()
    assert (reply.body, reply.source) == ("No, sigue fallando al firmar.", "mail")
    (taken,) = [
        e.data
        for e in ticket.events
        if e.kind == "transition" and e.data.get("name") == "no_resuelto"
    ]
    assert taken["comment"] == "No, sigue fallando al firmar."


def test_a_first_level_reply_to_a_ticket_to_confirm_is_only_a_comment(app):
    ticket = _answered_by_sge(user("interno"))
    focal = user("focal")
    record = receive(mail(focal.email, SGE_ADDRESS, f"RE: [{ticket.reference}]", "Le llamamos."))
    assert record.status == ACCEPTED, record.reason
    assert Ticket.get_by_id(ticket.id).state == "por_confirmar"
    assert Comment.get(Comment.ticket == ticket.id, Comment.source == "mail").body == (
        "Le llamamos."
    )


def test_reply_to_a_ticket_the_sender_cannot_see_is_refused(app):
    ticket = make_ticket(user("interno_b"))
    record = receive(
        mail(user("interno").email, SGE_ADDRESS, f"[{ticket.reference}] hola", "intrusión")
    )
    assert record.status == REFUSED
    assert not Comment.select().where(Comment.ticket == ticket.id).exists()


@pytest.mark.parametrize(
    "raw, reason",
    [
        (b"", "vacío"),
        (b"esto no es un correo\x00\xff sin encabezados", "mal formado"),
        (
            b"From: desconocido@example.com\r\nTo: soporte@administracionpublica.gob.ec\r\n"
            b"Subject: hola\r\n\r\nquiero un ticket",
            "desconocido",
        ),
        (
            b"From: interno@insta.ec\r\nTo: soporte@administracionpublica.gob.ec\r\n"
            b"Subject: Out of office\r\nAuto-Submitted: auto-replied\r\n\r\nno estoy",
            "automática",
        ),
    ],
)
def test_bad_mail_is_refused_and_kept(app, raw, reason, caplog):
    before = Ticket.select().count()
    record = receive(raw)
    assert record.status == REFUSED
    assert reason in record.reason
    stored = InboundMail.get_by_id(record.id)
    assert bytes(stored.raw) == raw and stored.status == REFUSED
    assert Ticket.select().count() == before
    assert any("refused" in r.getMessage() and reason in r.getMessage() for r in caplog.records)


@pytest.mark.config(MAX_MAIL_IN_KB=16)
def test_oversize_mail_is_refused_and_only_its_head_is_kept(app):
    raw = mail(user("focal").email, SGE_ADDRESS, "grande", "x" * 40000)
    record = receive(raw)
    assert record.status == REFUSED and "grande" in record.reason
    assert record.sender == user("focal").email and record.subject == "grande"
    stored = bytes(InboundMail.get_by_id(record.id).raw)
    headers = raw[: raw.index(b"\n\n") + 2]
    assert stored == raw[: len(headers) + 8 * 1024]


def test_cli_reads_one_message_on_stdin_and_exits_non_zero_on_refusal(app):
    runner = app.test_cli_runner()
    good = runner.invoke(
        args=["mail-in"], input=mail(user("focal").email, SGE_ADDRESS, "Desde la CLI", "texto")
    )
    assert good.exit_code == 0, good.output
    assert "accepted: MESA-" in good.output
    assert Ticket.select().where(Ticket.title == "Desde la CLI").exists()
    bad = runner.invoke(args=["mail-in"], input=mail("nadie@example.com", SGE_ADDRESS, "x", "y"))
    assert bad.exit_code == 1
    assert "refused" in bad.output
    assert InboundMail.select().count() == 2


def test_encoded_line_breaks_in_the_subject_cannot_inject_headers(app, smtp):
    focal = user("focal")
    raw = (
        f"From: {focal.email}\r\nTo: {SGE_ADDRESS}\r\n"
        "Subject: =?utf-8?q?Hola=0D=0ABcc:_victima@evil.example?=\r\n\r\ncuerpo\r\n"
    ).encode()
    record = receive(raw)
    assert record.status == ACCEPTED, record.reason
    ticket = Ticket.get_by_id(record.ticket_id)
    assert "\n" not in ticket.title and "\r" not in ticket.title
    assert smtp.messages
    for message in smtp.messages:
        assert "victima@evil.example" not in message["to"]
        assert message["message"]["Bcc"] is None
        assert "\n" not in message["subject"]


def test_trim_reply_keeps_only_the_new_text():
    assert trim_reply("Listo.\n\nOn Mon, Ana <a@x> wrote:\n> viejo") == "Listo."
    assert trim_reply("Listo.\n-----Mensaje original-----\nDe: x@y\nviejo") == "Listo."
    assert trim_reply("Arriba\n> citado\n> más\n") == "Arriba"
    assert trim_reply("Línea 1\nLínea 2\n\n-- \nFirma") == "Línea 1\nLínea 2"


def test_comment_by_mail_notifies_like_a_web_comment(app):
    interno = user("interno")
    ticket = make_ticket(interno)
    services.assign(user("focal"), ticket.id, user("focal").id)
    record = receive(mail(interno.email, SGE_ADDRESS, f"[{ticket.reference}]", "Sigue fallando"))
    assert record.status == ACCEPTED
    new = Outbox.select().where(Outbox.event == "comment_public")
    assert {r.recipient for r in new} == {user("focal").email, user("aiq").email}


def test_aiq_mail_to_sge_naming_the_move_to_production_opens_that_request(app, smtp):
    from ticketing.models import Institution

    insta = Institution.get(Institution.sigla == "INSTA")
    services.set_stage(insta.id, "ambiente_capacitacion")
    aiq = user("aiq")
    summary = "Parametrizamos las áreas y capacitamos a 40 usuarios finales."
    raw = mail(aiq.email, SGE_ADDRESS, "Solicitud de PASO A PRODUCCION - INSTA", summary)
    record = receive(raw)
    assert record.status == ACCEPTED, record.reason
    ticket = Ticket.get_by_id(record.ticket_id)
    assert ticket.type.slug == "paso-produccion" and ticket.queue_level == 2
    assert ticket.requester_id == aiq.id and ticket.fields["resumen"] == summary
    assert Institution.get_by_id(insta.id).stage == "paso_produccion"
    assert any("agq@sge.ec" in m["to"] for m in smtp.messages), "SGE was not told"

    # once in production the same words are no such request: the queue's default type
    services.set_stage(insta.id, "produccion")
    later = receive(mail(aiq.email, SGE_ADDRESS, "Falla tras el paso a producción", "Firma"))
    assert later.status == ACCEPTED, later.reason
    assert Ticket.get_by_id(later.ticket_id).type.slug == "escalamiento-sge"


def test_line_breaks_in_cc_or_bcc_cannot_inject_headers(app, smtp):
    focal = user("focal")
    raw = (
        f"From: {focal.email}\r\n"
        f"To: {SGE_ADDRESS}\r\n"
        "Cc: =?utf-8?q?Copia=0D=0ABcc:_victima@evil.example?= <copia@evil.example>\r\n"
        "Bcc: =?utf-8?q?x=0D=0ATo:_otra@evil.example?= <oculta@evil.example>\r\n"
        "Subject: Consulta con copia\r\n\r\ncuerpo\r\n"
    ).encode()
    record = receive(raw)
    assert record.status == ACCEPTED, record.reason
    assert smtp.messages
    for message in smtp.messages:
        assert b"evil.example" not in message["raw"]
        assert message["message"]["Bcc"] is None and message["message"]["Cc"] is None
        assert len(message["to"]) == 1


def test_refused_mail_is_listed_for_the_agq_with_its_reason(app, client, auth):
    raw = mail("extrano@example.com", SGE_ADDRESS, "Quiero un ticket", "hola")
    refused = receive(raw)
    own = make_ticket(user("interno_b"))  # a first-level ticket: not the AGQ's to read
    interno_b = user("interno_b")
    private = receive(mail(interno_b.email, SGE_ADDRESS, f"[{own.reference}] PRIVADO-77", "x"))
    assert private.status == ACCEPTED, private.reason
    auth.login("agq")
    page = text_of(client.get("/correo-entrante/"))
    assert "extrano@example.com" in page and "remitente desconocido" in page
    assert "PRIVADO-77" not in page
    details = text_of(client.get(f"/correo-entrante/details/?id={refused.id}"))
    assert "Quiero un ticket" in details and "hola" in details
    hidden = client.get(f"/correo-entrante/details/?id={private.id}", follow_redirects=True)
    assert "PRIVADO-77" not in text_of(hidden)
    auth.login("focal")
    assert client.get("/correo-entrante/").status_code == 404


def test_cli_asks_the_mail_server_to_retry_when_the_database_is_down(tmp_path):
    from ticketing.app import create_app

    unreachable = tmp_path / "no-such-folder" / "mesa.sqlite3"
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": f"sqlite:///{unreachable}",
            "SECRET_KEY": "test-secret-key",
            "SEED_DEMO": False,
            "INSTANCE_PATH": str(tmp_path / "instance"),
        }
    )
    raw = mail("focal@insta.ec", SGE_ADDRESS, "Se guarda luego", "texto")
    result = app.test_cli_runner().invoke(args=["mail-in"], input=raw)
    # EX_TEMPFAIL: the mail server keeps the message and delivers it again later
    assert result.exit_code == 75, result.output
    assert "temporary failure" in result.output


def test_a_refused_attachment_is_dropped_and_named_the_rest_of_the_mail_kept(app):
    from ticketing.models import Attachment

    _set_queue_address("INSTA", "mesa@insta.ec")
    message = EmailMessage()
    message["From"] = user("interno").email
    message["To"] = "mesa@insta.ec"
    message["Subject"] = "Error al firmar"
    message.set_content("Adjunto la captura.")
    message.add_attachment(
        b"%PDF-1.4 captura", maintype="application", subtype="pdf", filename="captura.pdf"
    )
    message.add_attachment(
        b"MZ\x90\x00 programa", maintype="application", subtype="pdf", filename="factura.pdf"
    )
    record = receive(bytes(message))
    assert record.status == ACCEPTED, record.reason
    ticket = Ticket.get_by_id(record.ticket_id)
    assert [a.filename for a in Attachment.select().where(Attachment.ticket == ticket.id)] == [
        "captura.pdf"
    ]
    assert "Adjunto no guardado: factura.pdf" in ticket.fields["descripcion"]
