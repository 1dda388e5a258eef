"""Mail in through the real pipe: `flask --app wsgi mail-in` reading one message on stdin.

One database file prepared by `db upgrade` and `seed --demo` is shared by every case
(demo queue addresses: mesadeayuda@minej.gob.ec, soporte@sepru.gob.ec and SGE's
soporte@administracionpublica.gob.ec); each case asserts the exit code, and the ticket,
comment, attachment, outbox or refusal rows the message left behind.
"""

import uuid
from email.message import EmailMessage

import pytest

from tests.test_cli_commands import prepared
from ticketing.models import Attachment, Comment, InboundMail, Outbox, Ticket

SGE = "soporte@administracionpublica.gob.ec"
MINEJ_DESK = "mesadeayuda@minej.gob.ec"
SEPRU_DESK = "soporte@sepru.gob.ec"


@pytest.fixture(scope="module")
def mesa(tmp_path_factory):
    mesa = prepared(tmp_path_factory.mktemp("mailin-pipe"))
    mesa.ok("db", "upgrade")
    mesa.ok("seed", "--demo")
    return mesa


def mail(sender, to, subject, body="Hola", attachments=(), **headers) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4()}@cliente.example>"
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(message)


def deliver(mesa, raw: bytes, **settings):
    """Pipe one message in; the process result and the InboundMail row it left."""
    result = mesa.run("mail-in", input=raw, **settings)
    assert "Traceback" not in result.stderr, result.stderr
    with mesa.models():
        row = InboundMail.select().order_by(InboundMail.id.desc()).first()
    return result, row


def accepted(mesa, raw: bytes) -> Ticket:
    result, row = deliver(mesa, raw)
    assert result.returncode == 0, result.stderr
    assert row.status == "accepted", row.reason
    assert result.stdout.strip() == f"accepted: MESA-{row.ticket_id} (inbound mail {row.id})"
    with mesa.models():
        return Ticket.get_by_id(row.ticket_id)


def refused(mesa, raw: bytes, **settings) -> InboundMail:
    result, row = deliver(mesa, raw, **settings)
    assert result.returncode == 1, result.stdout
    assert row.status == "refused" and row.ticket_id is None
    assert f"refused: {row.reason} (inbound mail {row.id})" in result.stderr
    return row


def counts(mesa) -> tuple[int, int, int]:
    with mesa.models():
        return Ticket.select().count(), Comment.select().count(), Outbox.select().count()


@pytest.mark.parametrize(
    "sender, address, queue, type_slug",
    [
        ("interno@minej.gob.ec", MINEJ_DESK, "Mesa de ayuda MINEJ", "soporte"),
        ("focal@sepru.gob.ec", f"Soporte SEPRU <{SEPRU_DESK}>", "Mesa de ayuda SEPRU", "soporte"),
        (
            "focal@minej.gob.ec",
            SGE.upper(),
            "Mesa de ayuda SGE (segundo nivel)",
            "escalamiento-sge",
        ),
    ],
)
def test_a_known_senders_mail_opens_a_ticket_in_the_addressed_queue(
    mesa, sender, address, queue, type_slug
):
    subject = f"No puedo firmar ({uuid.uuid4().hex[:6]})"
    ticket = accepted(mesa, mail(sender, address, subject, "El token no responde."))
    with mesa.models():
        assert ticket.queue.name == queue and ticket.type.slug == type_slug
        assert ticket.requester.email == sender and ticket.title == subject
        assert ticket.fields["descripcion"] == "El token no responde."
        if type_slug == "soporte":
            # required choices a mail cannot fill stay empty: opened incomplete, not refused
            assert not ticket.fields.get("categoria") and not ticket.fields.get("modulo")
        # the sender is told the reference
        told = Outbox.get((Outbox.ticket == ticket.id) & (Outbox.recipient == sender))
        assert told.event == "ticket_opened"
        assert told.subject.startswith(f"[MESA-{ticket.id}]"), told.subject


def test_a_reply_by_reference_comments_and_a_stranger_to_the_ticket_is_told_why_not(mesa):
    ticket = accepted(mesa, mail("interno@minej.gob.ec", MINEJ_DESK, "Clave olvidada", "Ayuda"))
    body = (
        "Ya ingresé, gracias.\n\n"
        "El lun, 3 mar 2025 a las 10:00, Mesa <soporte@administracionpublica.gob.ec>\n"
        "escribió:\n> Su ticket fue registrado\n"
    )
    reply = mail("interno@minej.gob.ec", MINEJ_DESK, f"RE: [MESA-{ticket.id}] Clave", body)
    assert accepted(mesa, reply).id == ticket.id
    with mesa.models():
        comment = Comment.get(Comment.ticket == ticket.id)
        assert comment.body == "Ya ingresé, gracias." and comment.source == "mail"

    tickets, comments, outbox = counts(mesa)
    other = mail("interno@sepru.gob.ec", SEPRU_DESK, f"RE: [MESA-{ticket.id}] Clave", "Yo también")
    row = refused(mesa, other)
    assert f"MESA-{ticket.id}" in row.reason and "no existe o no está a su alcance" in row.reason
    assert row.sender == "interno@sepru.gob.ec"
    assert counts(mesa) == (tickets, comments, outbox)


def test_a_help_desk_refuses_people_of_another_institution(mesa):
    before = counts(mesa)
    row = refused(mesa, mail("aiq@sepru.gob.ec", MINEJ_DESK, "Consulta", "Soy de SEPRU"))
    assert "no pertenece a la institución de esa mesa de ayuda" in row.reason
    assert counts(mesa) == before


@pytest.fixture(scope="module")
def open_ticket_id(mesa):
    """A ticket the automatic mail below replies to (it must not become a comment)."""
    return accepted(mesa, mail("focal@minej.gob.ec", SGE, "Servidor lento", "Lento")).id


def _report(sender: str, subject: str) -> bytes:
    """A delivery status notification (multipart/report), as a mail server sends one."""
    return (
        f"From: {sender}\r\nTo: {SGE}\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "No se pudo entregar el mensaje.\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; correo.minej.gob.ec\r\n\r\n"
        "Final-Recipient: rfc822; nadie@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "--b1--\r\n"
    ).encode()


AUTOMATIC = {
    # header -> whether the message is a reply to a ticket (else a new mail to the queue)
    "x-autoreply": ({"X_Autoreply": "yes"}, True),
    "x-auto-response-suppress": ({"X_Auto_Response_Suppress": "All"}, True),
    "auto-submitted-replied": ({"Auto_Submitted": "auto-replied"}, True),
    "auto-submitted-generated": ({"Auto_Submitted": "auto-generated"}, False),
    "precedence-bulk": ({"Precedence": "bulk"}, False),
    "precedence-junk": ({"Precedence": "junk"}, True),
    "precedence-list": ({"Precedence": "list"}, False),
}


@pytest.mark.parametrize("headers, is_reply", AUTOMATIC.values(), ids=list(AUTOMATIC))
def test_automatic_mail_is_never_a_ticket_a_comment_or_answered(
    mesa, open_ticket_id, headers, is_reply
):
    before = counts(mesa)
    subject = f"Fuera de oficina: [MESA-{open_ticket_id}]" if is_reply else "Fuera de oficina"
    raw = mail("focal@minej.gob.ec", SGE, subject, "Vuelvo el lunes", **headers)
    assert "automática" in refused(mesa, raw).reason
    assert counts(mesa) == before


@pytest.mark.parametrize("sender", ["focal@minej.gob.ec", SGE], ids=["report", "own-address"])
def test_delivery_reports_and_our_own_mail_are_automatic(mesa, open_ticket_id, sender):
    before = counts(mesa)
    if sender == SGE:  # one of our notifications come back, its headers lost on the way
        raw = mail(f"Mesa <{SGE}>", SGE, f"[MESA-{open_ticket_id}] Recibimos su ticket", "Hola")
    else:  # a delivery report a person's mail client made, to the queue
        raw = _report(sender, "Undelivered Mail Returned to Sender")
    assert "automática" in refused(mesa, raw).reason
    assert counts(mesa) == before


def test_auto_submitted_no_is_a_person_writing(mesa, open_ticket_id):
    raw = mail(
        "focal@minej.gob.ec", SGE, f"[MESA-{open_ticket_id}]", "Sigue lento", Auto_Submitted="no"
    )
    assert accepted(mesa, raw).id == open_ticket_id


def test_rfc2047_subject_and_sender_name_are_decoded(mesa):
    raw = (
        "From: =?UTF-8?Q?Carla_D=C3=ADaz?= <focal@minej.gob.ec>\r\n"
        f"To: {SGE}\r\n"
        "Subject: =?UTF-8?B?RmlybWEgZWxlY3Ryw7NuaWNh?=\r\n =?ISO-8859-1?Q?_en_Cuenca_=F1and=FA?=\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
        "La firma no valida el certificado.\r\n"
    ).encode()
    ticket = accepted(mesa, raw)
    assert ticket.title == "Firma electrónica en Cuenca ñandú"
    with mesa.models():
        row = InboundMail.get(InboundMail.ticket == ticket.id)
        assert row.subject == ticket.title and row.sender == "focal@minej.gob.ec"


def test_attachments_are_kept_on_the_new_ticket_and_on_a_reply(mesa):
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 8
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 300
    raw = mail(
        "interno@minej.gob.ec",
        MINEJ_DESK,
        "Error al adjuntar",
        "Adjunto el informe.",
        attachments=[("informe técnico.pdf", "application/pdf", pdf)],
    )
    ticket = accepted(mesa, raw)
    reply = mail(
        "interno@minej.gob.ec",
        MINEJ_DESK,
        f"Re: [MESA-{ticket.id}]",
        "Y la captura.",
        attachments=[("captura.png", "image/png", png)],
    )
    accepted(mesa, reply)
    with mesa.models():
        kept = {a.filename: a for a in Attachment.select().where(Attachment.ticket == ticket.id)}
        assert set(kept) == {"informe técnico.pdf", "captura.png"}
        assert bytes(kept["informe técnico.pdf"].blob.data) == pdf
        assert kept["informe técnico.pdf"].comment_id is None  # the ticket's own
        assert kept["informe técnico.pdf"].content_type == "application/pdf"
        assert bytes(kept["captura.png"].blob.data) == png
        assert kept["captura.png"].comment.body == "Y la captura."


def test_oversize_mail_keeps_only_headers_and_the_first_kib(mesa):
    big = b"A" * (200 * 1024)
    raw = mail(
        "focal@minej.gob.ec",
        SGE,
        "Registro completo",
        "Ver adjunto",
        attachments=[("registro.log", "text/plain", big)],
    )
    before = counts(mesa)
    row = refused(mesa, raw, MAX_MAIL_IN_KB=64)
    assert "demasiado grande" in row.reason and "KiB" in row.reason
    assert row.sender == "focal@minej.gob.ec" and row.subject == "Registro completo"
    with mesa.models():
        stored = bytes(InboundMail.get_by_id(row.id).raw)
    headers = raw[: raw.index(b"\n\n") + 2]
    assert stored.startswith(headers)
    assert len(headers) < len(stored) <= len(headers) + 8 * 1024
    assert counts(mesa) == before


def _set_state(mesa, ticket_id: int, state: str, category: str, closed_days_ago=None) -> None:
    """Where the services would have taken the ticket (escalated, answered, maybe closed)."""
    import datetime as dt

    from ticketing.models import now

    closed = now() - dt.timedelta(days=closed_days_ago) if closed_days_ago is not None else None
    with mesa.models():
        Ticket.update(state=state, state_category=category, closed_at=closed).where(
            Ticket.id == ticket_id
        ).execute()
    mesa.ok("stats", "rebuild")  # written behind the services' back


@pytest.mark.parametrize(
    "state, category, closed_days_ago, after",
    [
        ("por_confirmar", "waiting", None, "en_atencion"),  # "No se resolvió"
        ("resuelto", "done", 3, "en_atencion"),  # "Reabrir", within the window
        ("resuelto", "done", 40, "resuelto"),  # too late: the reply stays a comment
    ],
)
def test_the_requesters_reply_answers_whether_it_was_solved(
    mesa, state, category, closed_days_ago, after
):
    ticket = accepted(mesa, mail("interno@minej.gob.ec", MINEJ_DESK, "Firma", "No firma"))
    _set_state(mesa, ticket.id, state, category, closed_days_ago)
    reply = mail(
        "interno@minej.gob.ec",
        MINEJ_DESK,
        f"RE: [MESA-{ticket.id}] ¿Se resolvió su consulta? Firma",
        "No, sigue sin firmar.",
    )
    assert accepted(mesa, reply).state == after
    with mesa.models():
        comment = Comment.select().where(Comment.ticket == ticket.id).order_by(Comment.id).get()
        assert (comment.body, comment.source) == ("No, sigue sin firmar.", "mail")
        taken = [
            e.data["name"] for e in Ticket.get_by_id(ticket.id).events if e.kind == "transition"
        ]
    assert taken == (
        {"por_confirmar": ["no_resuelto"], "resuelto": ["reabrir"]}[state]
        if after == "en_atencion"
        else []
    )
