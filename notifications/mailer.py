"""Rendering outbox rows from their templates, building their MIME, and sending them over SMTP."""

import logging
import re
import smtplib
import string
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import formatdate, parseaddr

from flask import current_app
from flask_mail import Connection, Mail
from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from ticketing.models import NotificationTemplate

log = logging.getLogger("mesa.mail")

GENERIC_EVENT = "generic"  # the template used when an event has none of its own
_env = SandboxedEnvironment(autoescape=False)
_html_env = SandboxedEnvironment(autoescape=True)
_LINE_BREAKS = re.compile(r"[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


class PermanentMailError(Exception):
    """A mail that can never be sent as it is (bad address, broken template): no retry."""


class _TimedConnection(Connection):
    """Flask-Mail's connection, with MAIL_TIMEOUT on every socket operation.

    Flask-Mail 0.10 opens `smtplib.SMTP(host, port)` with no timeout, so a server that
    accepts the connection and then says nothing would hang a worker forever.
    """

    def configure_host(self):
        timeout = current_app.config.get("MAIL_TIMEOUT") or 10
        factory = smtplib.SMTP_SSL if self.mail.use_ssl else smtplib.SMTP
        host = factory(self.mail.server, self.mail.port, timeout=timeout)
        try:
            if self.mail.use_tls:
                host.starttls()
            if self.mail.username and self.mail.password:
                host.login(self.mail.username, self.mail.password)
        except BaseException:
            host.close()
            raise
        return host

    def __exit__(self, exc_type, exc_value, tb):
        # once the server has accepted the message, a failing QUIT must not look like a
        # failed send (that would send it again)
        if self.host is not None:
            try:
                self.host.quit()
            except (smtplib.SMTPException, OSError):
                self.host.close()


class TimedMail(Mail):
    """Flask-Mail whose connections honour MAIL_TIMEOUT and the app's current MAIL_* settings."""

    def connect(self):
        app = current_app
        return _TimedConnection(self.init_mail(app.config, app.debug, app.testing))


mail = TimedMail()


def one_line(value) -> str:
    """A header-safe single line: every line break and run of blanks becomes one space."""
    return " ".join(_LINE_BREAKS.sub(" ", str(value or "")).split())


def find_template(event: str, type_slug: str, locale: str):
    """The most specific template: type and locale, any type, then Spanish, then generic."""
    candidates = [
        (event, type_slug, locale),
        (event, "", locale),
        (event, type_slug, "es"),
        (event, "", "es"),
        (GENERIC_EVENT, "", locale),
        (GENERIC_EVENT, "", "es"),
    ]
    rows = {
        (t.event, t.type_slug, t.locale): t
        for t in NotificationTemplate.select().where(
            (NotificationTemplate.event.in_([event, GENERIC_EVENT]))
            & (NotificationTemplate.type_slug.in_([type_slug or "", ""]))
            & (NotificationTemplate.locale.in_([locale, "es"]))
        )
    }
    for key in candidates:
        if key in rows:
            return rows[key]
    return None


def render_parts(template, context: dict) -> tuple[str, str, str]:
    """Subject, text and HTML of a template for a context (subject on one line)."""
    context = {**context, "event": context.get("event", "")}
    subject = _env.from_string(template.subject).render(**context)
    text = _env.from_string(template.text).render(**context)
    html = _html_env.from_string(template.html).render(**context) if template.html else ""
    return one_line(subject), text, html


def render(row) -> tuple[str, str, str]:
    """Subject, text and HTML for an outbox row; a broken template is a permanent error."""
    context = {"event": row.event, **(row.context or {})}
    template = find_template(row.event, row.template_type, row.locale)
    if template is None:  # not even the generic template: still tell something useful
        subject = f"[{context.get('reference', 'Mesa')}] {context.get('title', row.event)}"
        lines = [f"{key}: {value}" for key, value in sorted(context.items()) if key != "url"]
        if context.get("url"):
            lines.append(str(context["url"]))
        return one_line(subject), "\n".join(lines), ""
    try:
        return render_parts(template, context)
    except TemplateError as exc:
        raise PermanentMailError(f"plantilla {template}: {exc}") from exc


# Header encoding. The standard library's folder (email.policy.SMTP) drops the blank
# between two encoded-words it puts on separate lines ("SETEGD,revisión": CPython
# gh-144156, fixed upstream only in 2026), and it refolds Flask-Mail's Header().encode()
# output mid-word ("producci ón"). So Mesa encodes and folds its headers itself, per
# RFC 2047 and 5322, and the policy below writes them out untouched.
_MAX_LINE = 78  # RFC 5322's recommended limit, folding blank included
_WORD_MAX = 75  # RFC 2047: the longest encoded-word
_EW_CHROME = len("=?utf-8?q??=")
_Q_LITERAL = frozenset(string.ascii_letters + string.digits + "!*+-/")  # safe in any header
_PRINTABLE = re.compile(r"[\x21-\x7e]*")
_PHRASE_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]*")  # a word of a name, unquoted


class _Folded(str):
    """A header value this module has already encoded and folded."""


class _MesaPolicy(EmailPolicy):
    """email.policy.SMTP, except that values `_fold` built are written as they are."""

    def header_store_parse(self, name, value):
        if isinstance(value, _Folded):
            return (name, str(value))
        return super().header_store_parse(name, value)


POLICY = _MesaPolicy(linesep="\r\n")


def _q(text: str) -> str:
    """RFC 2047 Q encoding limited to the characters allowed even inside a display name."""
    return "".join(
        c if c in _Q_LITERAL else "_" if c == " " else "".join(f"={b:02X}" for b in c.encode())
        for c in text
    )


def encoded_words(text: str, first_room: int = _WORD_MAX) -> list[str]:
    """`text` as UTF-8 Q encoded-words of at most 75 characters (the first at most `first_room`).

    Words break after a blank, which is encoded inside the word (a reader drops the
    blanks between two encoded-words); only a single word too long for one encoded-word
    is split, and then between characters, never inside one.
    """

    def fits(chunk: str, room: int) -> bool:
        return len(_q(chunk)) + _EW_CHROME <= room

    chunks, chunk, room = [], "", first_room
    for piece in re.findall(r"\S+\s*|\s+", text):
        if chunk and not fits(chunk + piece, room):
            chunks.append(chunk)
            chunk, room = "", _WORD_MAX
        if fits(chunk + piece, room):
            chunk += piece
            continue
        for char in piece:
            if chunk and not fits(chunk + char, room):
                chunks.append(chunk)
                chunk, room = "", _WORD_MAX
            chunk += char
    if chunk:
        chunks.append(chunk)
    return [f"=?utf-8?q?{_q(c)}?=" for c in chunks]


def _fold(name: str, tokens: list[str]) -> _Folded:
    """Tokens separated by one blank, folded before a blank so lines stay within 78."""
    lines, line = [], f"{name}:"
    for token in tokens:
        if lines or line != f"{name}:":
            if len(line) + 1 + len(token) > _MAX_LINE:
                lines.append(line)
                line = ""
        line += " " + token
    lines.append(line)
    return _Folded("\r\n".join(lines)[len(name) + 2 :])


def _tokens(name: str, text: str, plain: re.Pattern) -> list[str]:
    """`text` as header tokens: words `plain` allows as they are, each run of others encoded.

    A run of words is one encoded-word where it fits, so the blanks inside it are
    encoded too: readers disagree on blanks between two encoded-words (RFC 2047 drops
    them, Python's address parser keeps them), never on a blank beside plain text.
    """
    room = _MAX_LINE - len(name) - 2  # the first line also holds "Name: "
    tokens, run = [], []

    def flush():
        if run:
            tokens.extend(encoded_words(" ".join(run), room if not tokens else _WORD_MAX))
            run.clear()

    for word in one_line(text).split():
        if plain.fullmatch(word) and "=?" not in word and len(word) <= room:
            flush()
            tokens.append(word)
        else:
            run.append(word)
    flush()
    return tokens


def _header(name: str, value: str) -> _Folded:
    """An unstructured header (Subject, X-...): ASCII words as they are, others encoded."""
    return _fold(name, _tokens(name, value, _PRINTABLE))


def _address_header(name: str, display_name: str, address: str) -> _Folded:
    """From/To: the display name's atoms as they are, other words encoded, then the address."""
    words = _tokens(name, display_name, _PHRASE_ATOM)
    return _fold(name, [*words, f"<{address}>"] if words else [address])


def _ascii_address(address: str) -> str:
    """The address as SMTP without SMTPUTF8 takes it: IDNA domain, ASCII local part."""
    local, _, domain = address.rpartition("@")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise PermanentMailError(f"dominio inválido: {address!r}") from exc
    if not _PRINTABLE.fullmatch(local):
        raise PermanentMailError(f"dirección no ASCII: {address!r}")
    return f"{local}@{domain}"


def _address(row) -> tuple[str, str]:
    """The recipient's name and address, refused when it could smuggle a header or a second one."""
    raw = row.recipient or ""
    name, address = parseaddr(raw)
    if (
        _LINE_BREAKS.search(raw)
        or not address
        or address != raw.strip()
        or address.count("@") != 1
        or any(c in address for c in ',;<>"() ')
    ):
        raise PermanentMailError(f"dirección de destino inválida: {raw!r}")
    user = row.recipient_user
    return (one_line(user.full_name) if user is not None else ""), _ascii_address(address)


def _sender() -> tuple[str, str]:
    """MAIL_DEFAULT_SENDER as a display name and an address."""
    name, address = parseaddr(one_line(current_app.config["MAIL_DEFAULT_SENDER"]))
    if not address or address.count("@") != 1:
        raise PermanentMailError("MAIL_DEFAULT_SENDER no es una dirección válida")
    return name, _ascii_address(address)


def build_message(row, subject: str, text: str, html: str) -> EmailMessage:
    """The message for one outbox row: one recipient, its fixed Message-ID, no cc or bcc."""
    reference = one_line((row.context or {}).get("reference", ""))
    domain = row.message_id.rsplit("@", 1)[-1].rstrip(">") if "@" in row.message_id else "mesa"
    message = EmailMessage(policy=POLICY)
    message["From"] = _address_header("From", *_sender())
    message["To"] = _address_header("To", *_address(row))
    message["Subject"] = _header("Subject", subject)
    message["Date"] = _Folded(formatdate(localtime=True))
    # fixed per row: a rare duplicate is recognisable
    message["Message-ID"] = _header("Message-ID", row.message_id)
    if row.ticket_id:
        thread = f"<ticket-{row.ticket_id}@{domain}>"
        message["In-Reply-To"] = _header("In-Reply-To", thread)
        message["References"] = _header("References", thread)
    message["Auto-Submitted"] = _Folded("auto-generated")
    if reference:
        message["X-Mesa-Ticket"] = _header("X-Mesa-Ticket", reference)
    # quoted-printable keeps the mail 7-bit clean for any relay, and readable when raw
    message.set_content(text, cte="quoted-printable")
    if html:
        message.add_alternative(html, subtype="html", cte="quoted-printable")
    return message


def console_block(row, subject: str, text: str) -> str:
    """A kept mail as the operator reads it on the console: who, what, and the whole text."""
    name, address = _address(row)
    rule = "=" * 72
    return "\n".join(
        [
            f"mail kept, not sent (no MAIL_SERVER): outbox={row.id} message-id={row.message_id}",
            rule,
            f"To:      {name} <{address}>" if name else f"To:      <{address}>",
            f"Subject: {one_line(subject)}",
            "",
            text.rstrip("\n"),
            rule,
        ]
    )


def send(row, subject: str, text: str, html: str) -> bool:
    """Send through the configured SMTP server; False when none is (the mail is only logged)."""
    message = build_message(row, subject, text, html)
    if not current_app.config.get("MAIL_SERVER"):
        log.info("%s", console_block(row, subject, text))
        return False
    _name, sender = _sender()
    _name, recipient = _address(row)
    with mail.connect() as connection:
        if connection.host is None:  # MAIL_SUPPRESS_SEND
            return False
        connection.host.sendmail(sender, [recipient], message.as_bytes())
    return True
