"""Headers on the wire: long Spanish subjects and names arrive exactly as written.

Mail goes through a real SMTP server (aiosmtpd); the test reads the raw bytes it received.
"""

import email
import email.policy
import logging
import re
from email.header import decode_header

from notifications.jobs import deliver
from notifications.mailer import encoded_words
from tests.conftest import user
from ticketing.models import SENT, NotificationTemplate, Outbox, User

TITLE = (
    "Solicitud de paso a producción — Secretaría Técnica de Gestión Documental SETEGD, "
    "revisión de la parametrización del ambiente de capacitación, usuarios focales y "
    "buzón institucional de la mesa de ayuda (ñandú, acción, pingüino, 日本語)"
)
NAME = "María José Ñúñez-Ordóñez de la Concepción, Dirección de Tecnologías de la Información"
SENDER_NAME = "Mesa de ayuda · Subsecretaría de Gobierno Electrónico (SGE)"
ENCODED_WORD = re.compile(rb"=\?([^?]+)\?([qQbB])\?([^?]*)\?=")


def _deliver_one(smtp, title: str, message_id: str = "<headers-1@mesa.test>") -> dict:
    """Send one mail to the internal user of A, titled `title`; what the server received."""
    NotificationTemplate.update(subject="{{ title }}").where(
        (NotificationTemplate.event == "generic") & (NotificationTemplate.locale == "es")
    ).execute()
    User.update(full_name=NAME).where(User.email == "interno@insta.ec").execute()
    row = Outbox.create(
        recipient="interno@insta.ec",
        recipient_user=user("interno"),
        event="generic",
        context={"reference": "MESA-77", "title": title, "url": "http://mesa.test/ticket/77/"},
        message_id=message_id,
    )
    assert deliver(row.id) == SENT
    [received] = [m for m in smtp.messages if m["message_id"] == message_id]
    return received


def _header_lines(raw: bytes, name: bytes) -> list[bytes]:
    """The raw lines of one header (first line and continuations), as sent."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    for i, line in enumerate(head):
        if line.lower().startswith(name.lower() + b":"):
            lines = [line]
            for more in head[i + 1 :]:
                if more[:1] not in (b" ", b"\t"):
                    break
                lines.append(more)
            return lines
    raise AssertionError(f"no {name!r} header in {head!r}")


def _naive_reading(lines: list[bytes]) -> str:
    """What a client that decodes each encoded-word alone and keeps every blank shows."""
    value = b" ".join(line.strip() for line in lines).split(b":", 1)[1]
    shown = []
    for part in re.split(rb"(\s+)", value.strip()):
        found = ENCODED_WORD.fullmatch(part)
        if found:
            [(decoded, charset)] = decode_header(part.decode("ascii"))
            shown.append(decoded.decode(charset, errors="strict"))  # no split character
        else:
            shown.append(part.decode("ascii"))
    return "".join(shown)


def test_a_long_spanish_subject_arrives_exactly_as_written(app, smtp):
    received = _deliver_one(smtp, TITLE)
    raw = received["raw"]
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert str(parsed["Subject"]) == TITLE  # what every standard reader shows

    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii() and all(len(line) <= 78 for line in head.split(b"\r\n"))
    lines = _header_lines(raw, b"Subject")
    assert len(lines) > 2  # folded, and yet:
    # every encoded-word stands alone, between blanks (RFC 2047 section 5), never glued
    # to plain text, and holds whole characters
    for word in ENCODED_WORD.finditer(b" ".join(lines)):
        start, end = word.span()
        joined = b" ".join(lines)
        assert joined[start - 1 : start] == b" " and joined[end : end + 1] in (b"", b" ")
    # and the folds fall between words: even a client keeping the blanks between
    # encoded-words shows every word whole ("producción", never "producci ón")
    assert _naive_reading(lines).split() == TITLE.split()


def test_names_with_accents_and_commas_arrive_as_written(app, smtp):
    app.config["MAIL_DEFAULT_SENDER"] = f"{SENDER_NAME} <soporte@administracionpublica.gob.ec>"
    received = _deliver_one(smtp, "Aviso corto", "<headers-2@mesa.test>")
    parsed = email.message_from_bytes(received["raw"], policy=email.policy.default)
    [to] = parsed["To"].addresses
    assert (to.display_name, to.addr_spec) == (NAME, "interno@insta.ec")
    [sender] = parsed["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (
        SENDER_NAME,
        "soporte@administracionpublica.gob.ec",
    )
    assert received["from"] == "soporte@administracionpublica.gob.ec"
    assert received["to"] == ["interno@insta.ec"]
    assert _naive_reading(_header_lines(received["raw"], b"To")).split() == [
        *NAME.split(),
        "<interno@insta.ec>",
    ]


def test_the_mail_keeps_its_thread_headers_and_both_parts(app, smtp):
    received = _deliver_one(smtp, TITLE, "<headers-3@mesa.test>")
    parsed = received["message"]
    assert parsed["Message-ID"] == "<headers-3@mesa.test>"
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["X-Mesa-Ticket"] == "MESA-77"
    assert parsed["Date"] is not None and len(parsed.get_all("To")) == 1
    assert "http://mesa.test/ticket/77/" in received["text"]
    assert parsed.get_body(preferencelist=("html",)) is not None


def test_a_word_longer_than_an_encoded_word_is_split_between_characters():
    word = "ñ" * 40 + "日本語" * 10
    words = encoded_words(word)
    assert len(words) > 1 and all(len(w) <= 75 for w in words)
    decoded = [decode_header(w)[0] for w in words]
    assert "".join(text.decode(charset, errors="strict") for text, charset in decoded) == word


def test_a_kept_mail_is_shown_whole_on_the_console(app, caplog):
    caplog.set_level(logging.INFO, logger="mesa.mail")
    assert not app.config["MAIL_SERVER"]
    row = Outbox.create(
        recipient="interno@insta.ec",
        recipient_user=user("interno"),
        event="generic",
        context={
            "reference": "MESA-78",
            "title": "Paso a producción",
            "url": "http://mesa.test/t/78/",
        },
        message_id="<headers-kept@mesa.test>",
    )
    deliver(row.id)
    [block] = [
        r.getMessage() for r in caplog.records if "<headers-kept@mesa.test>" in r.getMessage()
    ]
    interno = user("interno")
    assert f"\nTo:      {interno.full_name} <interno@insta.ec>\n" in block
    assert f"\nSubject: {Outbox.get_by_id(row.id).subject}\n" in block
    assert Outbox.get_by_id(row.id).body.strip() in block  # the whole text, its link too
    assert "http://mesa.test/t/78/" in block
