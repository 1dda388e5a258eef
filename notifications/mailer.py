"""Rendering outbox rows from their templates, and sending them with Flask-Mail."""

import logging
import re
import smtplib
from email.utils import parseaddr

from flask import current_app
from flask_mail import Connection, Mail, Message
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


def _address(row) -> str | tuple[str, str]:
    """The recipient, refused when it could smuggle a header or a second address."""
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
    full_name = one_line(user.full_name) if user is not None else ""
    return (full_name, address) if full_name else address


def build_message(row, subject: str, text: str, html: str) -> Message:
    """The message for one outbox row: one recipient, its fixed Message-ID, no cc or bcc."""
    config = current_app.config
    reference = one_line((row.context or {}).get("reference", ""))
    domain = row.message_id.rsplit("@", 1)[-1].rstrip(">") if "@" in row.message_id else "mesa"
    message = Message(
        subject=one_line(subject),
        recipients=[_address(row)],
        body=text,
        html=html or None,
        sender=one_line(config["MAIL_DEFAULT_SENDER"]),
        extra_headers={"Auto-Submitted": "auto-generated"},
    )
    message.msgId = row.message_id  # fixed per row: a rare duplicate is recognisable
    if row.ticket_id:
        thread = f"<ticket-{row.ticket_id}@{domain}>"
        message.extra_headers.update({"In-Reply-To": thread, "References": thread})
    if reference:
        message.extra_headers["X-Mesa-Ticket"] = reference
    return message


def send(row, subject: str, text: str, html: str) -> bool:
    """Send through the configured SMTP server; False when none is (the mail is only logged)."""
    message = build_message(row, subject, text, html)
    if not current_app.config.get("MAIL_SERVER"):
        log.info(
            "mail kept, not sent (no MAIL_SERVER): outbox=%s to=%s message-id=%s subject=%s\n%s",
            row.id,
            row.recipient,
            row.message_id,
            message.subject,
            text,
        )
        return False
    mail.send(message)
    return True
