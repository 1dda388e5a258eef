"""Rendering outbox rows from their templates, building their MIME, and sending them over SMTP."""

import functools
import logging
import random
import re
import smtplib
import string
import sys
from email import quoprimime
from email.policy import EmailPolicy
from email.utils import formatdate, parseaddr

from flask import current_app
from flask_mail import Connection, Mail
from jinja2 import TemplateError
from jinja2.sandbox import SandboxedEnvironment

from ticketing.markup import compact_html, render_comment
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


@functools.lru_cache(maxsize=512)
def _compiled(source: str, html: bool):
    """A template's source compiled once per process: keyed by the text, so an edit is seen."""
    return (_html_env if html else _env).from_string(source)


def html_context(context: dict) -> dict:
    """The context of an HTML part: a comment as its sanitised Markdown, never as typed.

    `comment` (and `comment_html`, whatever a row's context held under that name) is the
    comment rendered by `ticketing.markup` and compacted, so it reads the same inside a
    template's `white-space: pre-wrap`; every other value is escaped by the environment.
    """
    comment = context.get("comment")
    if comment is None or comment == "":
        return {**context, "comment_html": ""}
    rendered = compact_html(render_comment(str(comment)))
    return {**context, "comment": rendered, "comment_html": rendered}


def render_parts(template, context: dict) -> tuple[str, str, str]:
    """Subject, text and HTML of a template for a context (subject on one line).

    The text part carries a comment as it was written (Markdown is readable as text);
    the HTML part its sanitised HTML (`html_context`).
    """
    context = {**context, "event": context.get("event", "")}
    subject = _compiled(template.subject, False).render(**context)
    text = _compiled(template.text, False).render(**context)
    html = _compiled(template.html, True).render(**html_context(context)) if template.html else ""
    return one_line(subject), text, html


def render(row, templates: dict | None = None) -> tuple[str, str, str]:
    """Subject, text and HTML for an outbox row; a broken template is a permanent error.

    `templates` (a dict the caller keeps for one batch) remembers each event, type and
    locale's template, so a batch looks each one up once.
    """
    context = {"event": row.event, **(row.context or {})}
    key = (row.event, row.template_type, row.locale)
    if templates is not None and key in templates:
        template = templates[key]
    else:
        template = find_template(*key)
        if templates is not None:
            templates[key] = template
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
# RFC 2047 and 5322, and `message_bytes` writes them out untouched (POLICY only refolds
# a line still longer than 78, which a single overlong token can leave).
_MAX_LINE = 78  # RFC 5322's recommended limit, folding blank included
_WORD_MAX = 75  # RFC 2047: the longest encoded-word
_EW_CHROME = len("=?utf-8?q??=")
_Q_LITERAL = frozenset(string.ascii_letters + string.digits + "!*+-/")  # safe in any header
_PRINTABLE = re.compile(r"[\x21-\x7e]*")
_PHRASE_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]*")  # a word of a name, unquoted


POLICY = EmailPolicy(linesep="\r\n")  # email.policy.SMTP


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


def _fold(name: str, tokens: list[str]) -> str:
    """Tokens separated by one blank, folded before a blank so lines stay within 78."""
    lines, line = [], f"{name}:"
    for token in tokens:
        if lines or line != f"{name}:":
            if len(line) + 1 + len(token) > _MAX_LINE:
                lines.append(line)
                line = ""
        line += " " + token
    lines.append(line)
    return "\r\n".join(lines)[len(name) + 2 :]


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


def _header(name: str, value: str) -> str:
    """An unstructured header (Subject, X-...): ASCII words as they are, others encoded."""
    return _fold(name, _tokens(name, value, _PRINTABLE))


def _address_header(name: str, display_name: str, address: str) -> str:
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


def message_bytes(row, subject: str, text: str, html: str, sender=None, recipient=None) -> bytes:
    """The message for one outbox row as sent: one recipient, its fixed Message-ID, no cc or bcc.

    Written out here rather than by `email.message.EmailMessage`, which parses every header
    it is given and again when it writes them out (a millisecond a message, most of a
    batch's time): the same bytes, headers folded by `POLICY`, bodies quoted-printable
    (7-bit clean for any relay, readable when raw) and, with HTML, multipart/alternative.
    `sender` and `recipient` (name, address) are `_sender()` and `_address(row)`, when the
    caller has them already.
    """
    reference = one_line((row.context or {}).get("reference", ""))
    domain = row.message_id.rsplit("@", 1)[-1].rstrip(">") if "@" in row.message_id else "mesa"
    headers = [
        ("From", _address_header("From", *(sender or _sender()))),
        ("To", _address_header("To", *(recipient or _address(row)))),
        ("Subject", _header("Subject", subject)),
        ("Date", formatdate(localtime=True)),
        # fixed per row: a rare duplicate is recognisable
        ("Message-ID", _header("Message-ID", row.message_id)),
    ]
    if row.ticket_id:
        thread = f"<ticket-{row.ticket_id}@{domain}>"
        headers += [
            ("In-Reply-To", _header("In-Reply-To", thread)),
            ("References", _header("References", thread)),
        ]
    headers.append(("Auto-Submitted", "auto-generated"))
    if reference:
        headers.append(("X-Mesa-Ticket", _header("X-Mesa-Ticket", reference)))
    out = [POLICY.fold(name, value) for name, value in headers]
    plain = [_TEXT_PART, _QP, "MIME-Version: 1.0\r\n"]
    if not html:
        out += [*plain, "\r\n", _quoted_printable(text)]
    else:
        boundary = "=" * 15 + f"{random.randrange(sys.maxsize):019d}" + "=="
        out += [
            "MIME-Version: 1.0\r\n",
            f'Content-Type: multipart/alternative;\r\n boundary="{boundary}"\r\n',
            f"\r\n--{boundary}\r\n",
            *plain[:2],
            "\r\n",
            _quoted_printable(text),
            f"\r\n--{boundary}\r\n",
            _HTML_PART,
            *plain[1:],
            "\r\n",
            _quoted_printable(html),
            f"\r\n--{boundary}--\r\n",
        ]
    return "".join(out).encode("ascii")


_TEXT_PART = 'Content-Type: text/plain; charset="utf-8"\r\n'
_HTML_PART = 'Content-Type: text/html; charset="utf-8"\r\n'
_QP = "Content-Transfer-Encoding: quoted-printable\r\n"


def _quoted_printable(text: str) -> str:
    """A body as `EmailMessage.set_content(text, cte="quoted-printable")` encodes it."""
    lines = text.encode("utf-8").splitlines()
    body = b"\n".join(lines) + b"\n"
    encoded = quoprimime.body_encode(body.decode("latin-1"), POLICY.max_line_length)
    return encoded.replace("\n", "\r\n")


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


class _HungUp(Exception):
    """The server closed the connection before DATA: the message cannot have been delivered."""

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.error = error


def _timed_out(exc: BaseException) -> bool:
    """Whether smtplib's "disconnected" was really a socket timeout (a server gone silent)."""
    return isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError)


def _reset(host) -> None:
    """RSET after a refused transaction, so the connection can carry the next message."""
    try:
        host.rset()
    except smtplib.SMTPServerDisconnected:
        pass  # the next message finds the connection closed and opens another


def _transmit(host, sender: str, recipient: str, payload: bytes) -> None:
    """MAIL, RCPT and DATA of one message on an open connection (smtplib's sendmail, by stage).

    A hang-up before DATA raises `_HungUp` (resending is safe); a 5xx to RCPT is a
    `PermanentMailError` (that address is refused, no retry); other refusals (4xx, or a
    refused sender) raise smtplib's errors, after an RSET that keeps the connection usable.
    """
    try:
        host.ehlo_or_helo_if_needed()
        options = [f"size={len(payload)}"] if host.does_esmtp and host.has_extn("size") else []
        code, reply = host.mail(sender, options)
        refused = None if code == 250 else smtplib.SMTPSenderRefused(code, reply, sender)
        if refused is None:
            code, reply = host.rcpt(recipient)
            if code not in (250, 251):
                refused = smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
    except smtplib.SMTPServerDisconnected as exc:
        if _timed_out(exc):
            raise
        raise _HungUp(exc) from exc
    if refused is not None:
        if code == 421:  # the server is closing the connection: this message never started
            host.close()
            raise _HungUp(refused)
        _reset(host)
        if isinstance(refused, smtplib.SMTPRecipientsRefused) and 500 <= code < 600:
            text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
            raise PermanentMailError(
                f"el servidor rechazó a {recipient}: {code} {text}"
            ) from refused
        raise refused
    code, reply = host.data(payload)
    if code != 250:
        if code == 421:
            host.close()
        else:
            _reset(host)
        raise smtplib.SMTPDataError(code, reply)


class MailSession:
    """One SMTP connection for a run of messages: opened at the first, reused for the next.

    A server that hung up between two messages (an idle timeout, a limit of messages per
    connection, a 421) is reconnected once and the message sent again: it never reached
    DATA, so it cannot have been delivered. A connection that cannot be opened, or a
    fresh one that fails, ends the session: every later message fails at once with the
    same error instead of waiting out MAIL_TIMEOUT again. A connection lost during DATA
    or by a timeout is not resent (the server may have the message): that message fails,
    and the next one opens a new connection.
    """

    def __init__(self):
        self._connection = None  # the open Flask-Mail connection
        self._uses = 0  # messages tried on it
        self._broken: Exception | None = None  # what ended the session
        self._sender: tuple[str, str] | None = None  # MAIL_DEFAULT_SENDER, parsed once

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, tb):
        self.close()

    def close(self) -> None:
        """QUIT the open connection, if any (a failing QUIT is not a failed send)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.__exit__(None, None, None)

    def _discard(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and connection.host is not None:
            connection.host.close()

    def _host(self):
        if self._broken is not None:
            raise self._broken.with_traceback(None)
        if self._connection is None:
            connection = mail.connect()
            try:
                connection.__enter__()
            except Exception as exc:
                self._broken = exc
                raise
            self._connection, self._uses = connection, 0
        return self._connection.host

    def send(self, row, subject: str, text: str, html: str) -> bool:
        """Send one row's message; False when no server is configured (the mail is only logged)."""
        if self._sender is None:  # the settings do not change within a session
            self._sender = _sender()
        to = _address(row)
        payload = message_bytes(row, subject, text, html, self._sender, to)
        if not current_app.config.get("MAIL_SERVER"):
            log.info("%s", console_block(row, subject, text))
            return False
        sender, recipient = self._sender[1], to[1]
        for may_reconnect in (True, False):
            host = self._host()
            if host is None:  # MAIL_SUPPRESS_SEND
                return False
            fresh = self._uses == 0
            self._uses += 1
            try:
                _transmit(host, sender, recipient, payload)
            except _HungUp as hung_up:
                self._discard()
                if fresh or not may_reconnect:
                    self._broken = hung_up.error
                    raise hung_up.error from None
                log.info("SMTP server closed the connection; reconnecting for outbox %s", row.id)
                continue
            except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
                raise  # refused by a server still talking: the connection carries the next one
            except OSError as exc:  # lost during DATA, or timed out: not resent
                self._discard()
                if fresh:
                    self._broken = exc
                raise
            return True
        raise AssertionError("unreachable")  # the loop returns or raises


def send(row, subject: str, text: str, html: str) -> bool:
    """Send one message on a connection of its own; False when no server is configured."""
    with MailSession() as session:
        return session.send(row, subject, text, html)
