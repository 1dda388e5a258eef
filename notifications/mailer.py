"""Rendering outbox rows from their templates, and sending them with Flask-Mail."""

import logging

from flask import current_app
from flask_mail import Mail, Message
from jinja2.sandbox import SandboxedEnvironment

from ticketing.models import NotificationTemplate

log = logging.getLogger("mesa.mail")
mail = Mail()
_env = SandboxedEnvironment(autoescape=False)
_html_env = SandboxedEnvironment(autoescape=True)


def find_template(event: str, type_slug: str, locale: str):
    """The most specific template: type and locale, then any type, then Spanish."""
    candidates = [(type_slug, locale), ("", locale), (type_slug, "es"), ("", "es")]
    rows = {
        (t.type_slug, t.locale): t
        for t in NotificationTemplate.select().where(
            (NotificationTemplate.event == event)
            & (NotificationTemplate.type_slug.in_([type_slug, ""]))
            & (NotificationTemplate.locale.in_([locale, "es"]))
        )
    }
    for key in candidates:
        if key in rows:
            return rows[key]
    return None


def render_parts(template, context: dict) -> tuple[str, str, str]:
    """Subject, text and HTML of a template for a context."""
    subject = _env.from_string(template.subject).render(**context)
    text = _env.from_string(template.text).render(**context)
    html = _html_env.from_string(template.html).render(**context) if template.html else ""
    # a subject is one line: no header can be injected through it
    subject = " ".join(subject.split())
    return subject, text, html


def render(row) -> tuple[str, str, str]:
    """Subject, text and HTML for an outbox row."""
    template = find_template(row.event, row.template_type, row.locale)
    context = dict(row.context or {})
    if template is None:
        subject = f"[{context.get('reference', 'Mesa')}] {row.event}"
        return " ".join(subject.split()), str(context), ""
    return render_parts(template, context)


def send(row, subject: str, text: str, html: str) -> None:
    """Send through the configured SMTP server, or log it when none is configured."""
    if not current_app.config.get("MAIL_SERVER"):
        log.info("mail kept (no MAIL_SERVER) to=%s subject=%s\n%s", row.recipient, subject, text)
        return
    message = Message(
        subject=subject,
        recipients=[row.recipient],
        body=text,
        html=html or None,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
        extra_headers={"Message-ID": row.message_id},
    )
    reference = (row.context or {}).get("reference")
    if reference:
        message.extra_headers["X-Mesa-Ticket"] = reference
    mail.send(message)
