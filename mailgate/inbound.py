"""Mail in: one RFC 822 message becomes a ticket or a public comment, or is refused and kept.

Every message is stored in `InboundMail` with its raw bytes before anything else happens,
so nothing is lost: what became of it is its status (accepted | refused) and reason. An
oversize message keeps only its headers and the start of its body. The rules of who may do
what are the services' own (`open_ticket`, `reply_by_mail`), run in the sender's language.
"""

import email
import email.errors
import email.policy
import html as html_lib
import logging
import re
import unicodedata
from email.utils import getaddresses, parseaddr

from flask import current_app

from ticketing.errors import DomainError
from ticketing.fields import UploadedFile
from ticketing.i18n import speaking
from ticketing.models import FIRST_LEVEL, InboundMail, Outbox, Queue, User

log = logging.getLogger("mesa.mailin")

ACCEPTED, REFUSED = InboundMail.ACCEPTED, InboundMail.REFUSED
REFERENCE = re.compile(r"\[\s*MESA-(\d{1,12})\s*\]", re.IGNORECASE)
OVERSIZE_KEPT_BODY = 8 * 1024  # of an oversize message, the body bytes kept with its headers
OVERSIZE_KEPT_HEADERS = 64 * 1024  # headers past this are not kept either
TEXTAREA_MAX = 20000  # a textarea's length limit when its type sets none (as in ticketing.fields)
_AUTOMATIC_PRECEDENCE = ("bulk", "junk", "list", "auto_reply")
_QUOTE_HEADERS = (
    re.compile(r"^\s*(On|El)\s.{0,300}\s(wrote|escribió)\s*:\s*$", re.IGNORECASE),
    re.compile(r"^\s*-{2,}\s*(Original Message|Mensaje original)\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*_{10,}\s*$"),  # Outlook's separator line
    re.compile(r"^\s*(From|De)\s*:\s.*@", re.IGNORECASE),
)


class Refused(Exception):
    """Why a message is refused: a short reason kept with it and logged."""


def receive(raw: bytes, *, envelope_recipient: str | None = None) -> InboundMail:
    """Store one raw message, then turn it into a ticket or comment, or refuse it."""
    limit = current_app.config["MAX_MAIL_IN_KB"] * 1024
    oversize = len(raw) > limit
    kept = _head_of(raw) if oversize else raw
    record = InboundMail.create(raw=kept, status=REFUSED, reason="en proceso")
    try:
        if oversize:
            try:  # who sent it and what about, for the list of refused mail
                _describe(record, _parse(kept), envelope_recipient)
            except Refused:
                pass
            raise Refused(
                f"demasiado grande ({len(raw) // 1024} KiB > {limit // 1024} KiB); "
                f"se guardan solo los encabezados y los primeros "
                f"{OVERSIZE_KEPT_BODY // 1024} KiB"
            )
        message = _parse(raw)
        _describe(record, message, envelope_recipient)
        ticket_id = _act(message, record, envelope_recipient)
    except Refused as exc:
        return _finish(record, REFUSED, str(exc))
    except DomainError as exc:
        return _finish(record, REFUSED, exc.message)
    except Exception as exc:  # still kept, and said so, whatever went wrong
        log.exception("mail-in %s: unexpected error", record.id)
        return _finish(record, REFUSED, f"error interno: {type(exc).__name__}")
    return _finish(record, ACCEPTED, "", ticket_id)


def _finish(record, status, reason, ticket_id=None) -> InboundMail:
    record.status, record.reason, record.ticket = status, reason[:255], ticket_id
    InboundMail.update(
        status=status,
        reason=record.reason,
        ticket=ticket_id,
        sender=record.sender,
        recipient=record.recipient,
        subject=record.subject,
        message_id=record.message_id,
    ).where(InboundMail.id == record.id).execute()
    line = "mail-in %s %s: from=%s to=%s subject=%r message-id=%s%s"
    args = (
        record.id,
        status,
        record.sender or "?",
        record.recipient or "?",
        record.subject,
        record.message_id or "?",
        f" reason={reason}" if reason else f" ticket=MESA-{ticket_id}",
    )
    (log.warning if status == REFUSED else log.info)(line, *args)
    return record


def _head_of(raw: bytes) -> bytes:
    """The headers and the first few KiB of the body: what is kept of an oversize message."""
    ends = [i + len(sep) for sep in (b"\r\n\r\n", b"\n\n") if (i := raw.find(sep)) >= 0]
    end = min(ends) if ends else len(raw)
    if end > OVERSIZE_KEPT_HEADERS:
        return raw[:OVERSIZE_KEPT_HEADERS]
    return raw[: end + OVERSIZE_KEPT_BODY]


def _parse(raw: bytes):
    if not raw.strip():
        raise Refused("mensaje vacío")
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        sender = message.get("From")
    except Exception as exc:
        raise Refused(f"mensaje mal formado ({type(exc).__name__})") from None
    fatal = [
        d for d in message.defects if isinstance(d, email.errors.MissingHeaderBodySeparatorDefect)
    ]
    if sender is None or fatal:
        raise Refused("mensaje mal formado (sin remitente o con encabezados inválidos)")
    return message


def _header(message, name: str) -> str:
    try:
        value = message.get(name)
    except Exception:
        return ""
    return " ".join(_printable(str(value or "")).split())


def _printable(text: str, keep: str = "") -> str:
    """`text` without control characters (but `keep`) or lone surrogates: no column refuses it."""
    return "".join(c for c in text if c in keep or unicodedata.category(c) not in ("Cc", "Cs"))


def _describe(record, message, envelope_recipient):
    record.sender = parseaddr(_header(message, "From"))[1].lower()[:254]
    record.recipient = (envelope_recipient or _header(message, "To"))[:254]
    record.subject = _header(message, "Subject")[:255]
    record.message_id = _header(message, "Message-ID")[:255]


def _addresses(message, envelope_recipient) -> list[str]:
    values = [envelope_recipient or ""]
    for name in ("Delivered-To", "X-Original-To", "To", "Cc"):
        try:
            values.extend(str(v) for v in message.get_all(name) or [])
        except Exception:
            continue
    return [a.lower() for _n, a in getaddresses(values) if a]


def _act(message, record, envelope_recipient) -> int:
    """Comment on the referenced ticket, or open one in the addressed queue."""
    if _is_automatic(message, record.sender):
        raise Refused("respuesta automática o rebote (evita bucles de correo)")
    if not record.sender:
        raise Refused("mensaje mal formado (remitente ilegible)")
    sender = User.get_or_none((db_lower(User.email) == record.sender) & (User.active == True))
    if sender is None:
        raise Refused(f"remitente desconocido: {record.sender}")
    # the services' refusals are kept in the sender's language, field by field
    with speaking(sender):
        try:
            return _act_as(sender, message, record, envelope_recipient)
        except DomainError as exc:
            details = "; ".join(f"{name}: {text}" for name, text in exc.fields.items())
            raise Refused(f"{exc.message} ({details})" if details else exc.message) from None


def _acceptable(files) -> tuple[list, list[str]]:
    """The attachments the product accepts, and a line for each one it does not."""
    from ticketing.attachments import checked_upload

    limit = current_app.config["MAX_ATTACHMENT_MB"]
    kept, dropped = [], []
    for upload in files:
        try:
            checked_upload(upload, max_mb=limit)
        except DomainError as exc:
            dropped.append(f"[Adjunto no guardado: {upload.filename}. {exc.message}]")
        else:
            kept.append(upload)
    return kept, dropped


def _act_as(sender, message, record, envelope_recipient) -> int:
    from ticketing import services

    body, files = _content(message)
    files, dropped = _acceptable(files)
    if dropped:  # one bad file must not cost the sender the whole message
        body = "\n\n".join(filter(None, [body, "\n".join(dropped)]))
    ticket_id = _referenced_ticket(message, record.subject)
    if ticket_id is not None:
        if not body and not files:
            raise Refused("respuesta vacía")
        try:
            # the requester's answer to "¿Se resolvió?" (or a reopening) takes the process's
            # on_reply transition; any other reply is a comment
            ticket = services.reply_by_mail(sender, ticket_id, body, files=files)
        except DomainError as exc:
            exc.message = f"respuesta a MESA-{ticket_id}: {exc.message}"
            raise
        return ticket.id
    addresses = _addresses(message, envelope_recipient)
    queue = (
        Queue.select().where(db_lower(Queue.email).in_(addresses)).first() if addresses else None
    )
    if queue is None:
        raise Refused("ninguna cola tiene esa dirección y el asunto no cita un ticket")
    if queue.level == FIRST_LEVEL and sender.institution_id != queue.institution_id:
        raise Refused("el remitente no pertenece a la institución de esa mesa de ayuda")
    ticket_type = _type_for(queue, sender, record.subject)
    if ticket_type is None:
        raise Refused(
            "el rol del remitente (o la etapa de su institución) no permite abrir tickets en esa cola"
        )
    fields = {}
    textarea = next((f for f in _fields(ticket_type) if f.get("kind") == "textarea"), None)
    if textarea:
        # the whole message stays in InboundMail: a long one is cut, not refused
        fields[textarea["name"]] = body[: _length_limit(textarea)]
    title = REFERENCE.sub("", record.subject).strip() or "(sin asunto)"
    ticket = services.open_ticket(
        sender, ticket_type.slug, title[:255], fields, source="mail", files=files
    )
    return ticket.id


def _length_limit(field: dict) -> int:
    options = field.get("options") if isinstance(field.get("options"), dict) else {}
    try:
        limit = int(str(options.get("max_length", "")).strip())
    except ValueError:
        return TEXTAREA_MAX
    return limit if limit >= 1 else TEXTAREA_MAX


def db_lower(field):
    """Case-insensitive match on an address column."""
    from peewee import fn

    return fn.LOWER(field)


def _is_automatic(message, sender: str) -> bool:
    """Out-of-office replies, bounces, lists and our own mail: answering them would loop."""
    auto = _header(message, "Auto-Submitted").lower()
    precedence = _header(message, "Precedence").lower()
    return bool(
        (auto and auto != "no")
        or precedence in _AUTOMATIC_PRECEDENCE
        or _header(message, "X-Autoreply")
        or _header(message, "X-Auto-Response-Suppress")  # Exchange marks its own replies so
        or message.get_content_type() == "multipart/report"  # delivery and read reports
        or _header(message, "X-Mesa-Ticket")  # one of our own notifications
        or sender.startswith(("mailer-daemon@", "postmaster@"))
        or sender in _own_addresses()
    )


def _own_addresses() -> set[str]:
    """The addresses the product sends from: mail from them is its own, coming back."""
    config = current_app.config
    named = (config.get("MAIL_DEFAULT_SENDER") or "", config.get("SGE_SUPPORT_ADDRESS") or "")
    return {parseaddr(a)[1].lower() for a in named} - {""}


def _referenced_ticket(message, subject: str) -> int | None:
    """The ticket a reply is about: [MESA-n] in the subject, else our Message-ID it answers."""
    found = REFERENCE.search(subject or "")
    if found:
        return int(found.group(1))
    ids = re.findall(
        r"<[^<>\s]+>", f"{_header(message, 'In-Reply-To')} {_header(message, 'References')}"
    )
    for message_id in reversed(ids):
        thread = re.fullmatch(r"<ticket-(\d+)@[^>]+>", message_id)
        if thread:
            return int(thread.group(1))
        row = Outbox.get_or_none(Outbox.message_id == message_id)
        if row is not None and row.ticket_id:
            return row.ticket_id
    return None


def _fields(ticket_type) -> list[dict]:
    from ticketing.definitions import current_version

    return current_version(ticket_type).definition["fields"]


def _folded(text: str) -> str:
    """Lower case, no accents, single spaces: for matching a type's name in a subject."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^\w]+", " ", plain.casefold()).split())


def _names_in(subject: str, ticket_type) -> bool:
    folded = f" {_folded(subject)} "
    names = (ticket_type.name, getattr(ticket_type, "name_en", "") or "")
    return any(_folded(n) and f" {_folded(n)} " in folded for n in names)


def _type_for(queue, sender, subject: str = ""):
    """The type a new mail opens: one the subject names, else the queue's default, else the first.

    Only types the sender may open now (role, and the institution's stage) at the queue's
    level count, so "Paso a producción" in an AIQ's subject to SGE opens that request, while
    the same words after production fall back to the queue's default type.
    """
    from ticketing.services import openable_types

    allowed = [t for t in openable_types(sender) if t.queue_level == queue.level]
    named = sorted(
        (t for t in allowed if _names_in(subject, t)), key=lambda t: -len(_folded(t.name))
    )
    default = [t for t in allowed if t.slug == queue.default_type_slug]
    return next(iter(named + default + allowed), None)


def _content(message) -> tuple[str, list[UploadedFile]]:
    """The new text of a message (quoted reply trimmed) and its attachments."""
    part = message.get_body(preferencelist=("plain", "html"))
    text = ""
    if part is not None:
        try:
            text = part.get_content()
        except (LookupError, UnicodeError, AssertionError):
            payload = part.get_payload(decode=True) or b""
            text = payload.decode("utf-8", "replace")
        if part.get_content_type() == "text/html":
            text = html_to_text(text)
        text = _printable(text, keep="\n\r\t")
    files = []
    for attachment in message.iter_attachments():
        data = attachment.get_payload(decode=True)
        if not data:
            continue
        filename = " ".join(_printable(attachment.get_filename() or "").split()) or "adjunto"
        files.append(UploadedFile(filename[:255], attachment.get_content_type(), data))
    return trim_reply(text), files


def html_to_text(source: str) -> str:
    """Rough text of an HTML body: paragraphs and breaks kept, tags dropped."""
    source = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", "", source)
    source = re.sub(r"(?is)<blockquote\b.*?</blockquote>", "\n", source)
    source = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</tr>", "\n", source)
    return html_lib.unescape(re.sub(r"<[^>]+>", "", source))


def trim_reply(text: str) -> str:
    """The new part of a reply: cut at the quoted original or a signature, and trailing '>' lines."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept = []
    for i, line in enumerate(lines):
        if line in ("-- ", "--"):
            break
        # "On <date>, <someone> wrote:" is often wrapped over two lines
        pair = f"{line} {lines[i + 1]}" if i + 1 < len(lines) else line
        if any(p.match(line) for p in _QUOTE_HEADERS) or _QUOTE_HEADERS[0].match(pair):
            break
        kept.append(line)
    while kept and (kept[-1].lstrip().startswith(">") or not kept[-1].strip()):
        kept.pop()
    return "\n".join(kept).strip()
