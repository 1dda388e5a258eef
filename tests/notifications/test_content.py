"""What mail says and to whom: templates in both languages, reminders, privacy, no injection."""

import datetime as dt
import threading
import traceback
from pathlib import Path

import pytest
import yaml

from notifications.jobs import deliver
from notifications.mailer import find_template, render
from notifications.reminders import send_reminders
from notifications.templates import EVENTS, SAMPLE_CONTEXT, preview
from tests.conftest import make_ticket, user
from ticketing import services, stats
from ticketing.db import db
from ticketing.models import FAILED, NotificationTemplate, Outbox, Ticket, User, now

SEED = Path(__file__).resolve().parents[2] / "seeds" / "notifications.yaml"


def test_seed_has_subject_text_and_html_for_every_event_in_both_languages():
    data = yaml.safe_load(SEED.read_text(encoding="utf-8"))
    assert data["format"] == "mesa-process/1"
    have = {(t["event"], t.get("locale", "es")): t for t in data["notification_templates"]}
    for event in EVENTS:
        for locale in ("es", "en"):
            template = have.get((event, locale))
            assert template, f"no {locale} template for {event}"
            assert template["subject"] and template["text"] and template["html"]


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_every_template_renders_in_spanish_and_english(app, event):
    rendered = {}
    for locale in ("es", "en"):
        template = find_template(event, "soporte", locale)
        assert (template.event, template.locale) == (event, locale)
        rendered[locale] = preview(template.subject, template.text, template.html)
        assert "\n" not in rendered[locale]["subject"]
        assert rendered[locale]["text"].strip() and rendered[locale]["html"].strip()
        if event not in ("invitation", "password_reset"):  # about an account, not a ticket
            assert SAMPLE_CONTEXT["reference"] in rendered[locale]["subject"]
            assert SAMPLE_CONTEXT["url"] in rendered[locale]["text"]
    assert rendered["es"]["subject"] != rendered["en"]["subject"]


def test_course_dates_list_every_course_with_its_hours(app):
    template = find_template("course_dates_set", "", "es")
    text = preview(template.subject, template.text, template.html)["text"]
    assert "Bandeja de entrada (4 horas): 2025-03-03 09:00" in text
    assert "Administración (4 horas): por confirmar" in text


def test_event_without_template_falls_back_to_the_generic_one(app):
    ticket = make_ticket(user("interno"))
    row = Outbox.create(
        recipient="interno@insta.ec",
        recipient_user=user("interno").id,
        ticket=ticket.id,
        event="something_new",
        locale="en",
        context={"reference": ticket.reference, "title": ticket.title, "url": "http://x/"},
        message_id="<generic-test@mesa>",
    )
    subject, text, _html = render(row)
    assert subject == f"[{ticket.reference}] Update on {ticket.title}"
    assert "http://x/" in text


def test_type_specific_template_wins_over_the_generic(app):
    NotificationTemplate.create(
        event="ticket_opened",
        type_slug="soporte",
        locale="es",
        subject="Soporte {{ reference }}",
        text="Específico",
    )
    assert find_template("ticket_opened", "soporte", "es").text == "Específico"
    assert find_template("ticket_opened", "escalamiento-sge", "es").text != "Específico"


def test_english_speaker_gets_english_mail(app, smtp):
    User.update(locale="en").where(User.email == "interno@insta.ec").execute()
    ticket = make_ticket(user("interno"), title="Printer", source="mail")
    [message] = smtp.mailbox.to("interno@insta.ec")
    assert message["subject"] == f"[{ticket.reference}] We received your ticket: Printer"
    [spanish] = smtp.mailbox.to("focal@insta.ec")
    assert spanish["subject"].startswith(f"[{ticket.reference}] Nuevo ticket en la cola")
    html = spanish["message"].get_body(preferencelist=("html",)).get_content()
    assert f'href="http://mesa.test/ticket/{ticket.id}/"' in html


def test_invitation_says_where_to_sign_in_and_never_carries_a_password(app, smtp):
    from ticketing.models import Institution

    institution = Institution.get(Institution.sigla == "INSTA")
    services.create_user(
        services.SYSTEM,
        full_name="Nueva Persona",
        cedula="1710000082",
        email="nueva@insta.ec",
        role="focal",
        institution_id=institution.id,
    )
    [message] = smtp.mailbox.to("nueva@insta.ec")
    assert "http://mesa.test/login" in message["text"]
    assert "http://mesa.test/password/" in message["text"]
    row = Outbox.get(Outbox.event == "invitation")
    assert not any("password" in key or "clave" in key for key in row.context)


def test_internal_notes_never_reach_the_requester(app, smtp):
    interno = user("interno")
    ticket = make_ticket(interno)
    services.assign(user("focal"), ticket.id, user("focal").id)
    services.add_comment(user("focal"), ticket.id, "NOTA-INTERNA-7731", internal=True)
    services.add_comment(user("focal"), ticket.id, "Respuesta pública")
    internal = [m for m in smtp.messages if "NOTA-INTERNA-7731" in m["text"]]
    assert internal, "the note reached nobody"
    assert all(interno.email not in m["to"] for m in internal)
    assert all("NOTA-INTERNA-7731" not in m["text"] for m in smtp.mailbox.to(interno.email))
    assert any("Respuesta pública" in m["text"] for m in smtp.mailbox.to(interno.email))


def test_nobody_outside_the_institution_or_sge_receives_a_tickets_content(app, smtp):
    marker = "CONTENIDO-PRIVADO-5521"
    ticket = make_ticket(user("interno"), title=f"{marker} título")
    services.add_comment(user("focal"), ticket.id, f"{marker} comentario")
    services.transition(user("aiq"), ticket.id, "escalar", comment=f"{marker} escalado")
    child = Ticket.get(Ticket.parent == ticket.id)
    services.add_comment(user("agq"), child.id, f"{marker} respuesta SGE")
    services.transition(user("agq"), child.id, "resolver", comment=f"{marker} resuelto")
    assert smtp.messages
    allowed = {u.email for u in User.select() if u.institution.sigla in ("INSTA", "SGE")}
    for message in smtp.messages:
        assert set(message["to"]) <= allowed, message["to"]
    assert any("agq@sge.ec" in m["to"] for m in smtp.messages), "SGE was never told"
    others = [u.email for u in User.select() if u.institution.sigla == "INSTB"]
    assert not any(set(m["to"]) & set(others) for m in smtp.messages)


def _due(ticket, **delta):
    Ticket.update(due_at=now() + dt.timedelta(**delta)).where(Ticket.id == ticket.id).execute()
    stats.rebuild()  # tickets written behind the services' back


def test_reminders_before_and_after_the_deadline_are_sent_once(app, smtp):
    near = make_ticket(user("interno"), title="Vence pronto")
    passed = make_ticket(user("interno"), title="Ya venció")
    later = make_ticket(user("interno"), title="Vence en un mes")
    closed = make_ticket(user("interno"), title="Cerrado")
    _due(near, days=2)
    _due(passed, hours=-1)
    _due(later, days=30)
    _due(closed, days=-5)
    services.transition(user("focal"), closed.id, "resolver", comment="listo")
    smtp.messages.clear()

    first = send_reminders()
    assert send_reminders() == 0  # running it twice sends nothing twice
    people = {"interno@insta.ec", "focal@insta.ec", "aiq@insta.ec"}
    rows = list(Outbox.select().where(Outbox.event.in_(["deadline_near", "deadline_passed"])))
    assert first == len(rows) == 2 * len(people)
    assert {(r.ticket_id, r.event) for r in rows} == {
        (near.id, "deadline_near"),
        (passed.id, "deadline_passed"),
    }
    assert len(smtp.messages) == len(rows)
    assert {a for m in smtp.messages for a in m["to"]} == people
    assert Ticket.get_by_id(near.id).reminded == ["deadline_near"]

    # once the near deadline passes, a breach reminder goes out, once
    _due(near, hours=-1)
    assert send_reminders() == len(people)
    assert send_reminders() == 0


def test_reminders_cli_runs_once(app):
    ticket = make_ticket(user("interno"))
    _due(ticket, days=1)
    runner = app.test_cli_runner()
    assert "reminders queued: 3" in runner.invoke(args=["reminders"]).output
    assert "reminders queued: 0" in runner.invoke(args=["reminders"]).output


@pytest.mark.config(OUTBOX_SWEEP_AFTER_SECONDS=0)
def test_outbox_sweep_cli_sends_what_was_left_pending(app, smtp):
    smtp.stop()
    make_ticket(user("interno"))
    smtp.start()
    result = app.test_cli_runner().invoke(args=["outbox", "sweep"])
    assert result.exit_code == 0 and "swept: 2" in result.output
    assert len(smtp.messages) == 2


def test_line_breaks_in_titles_and_names_cannot_inject_headers(app, smtp):
    User.update(full_name="Diego\r\nBcc: espia@evil.example").where(
        User.email == "interno@insta.ec"
    ).execute()
    make_ticket(user("interno"), title="Hola\r\nBcc: espia@evil.example\r\nX-Evil: 1")
    assert smtp.messages
    for message in smtp.messages:
        parsed = message["message"]
        assert parsed["Bcc"] is None and parsed["X-Evil"] is None
        assert all("evil.example" not in a for a in message["to"])
        assert len(parsed.get_all("To")) == 1 and len(parsed.get_all("Message-ID")) == 1
        assert "\n" not in message["subject"]


def test_a_recipient_address_with_line_breaks_is_refused_not_sent(app, smtp):
    row = Outbox.create(
        recipient="interno@insta.ec\r\nBcc: espia@evil.example",
        event="generic",
        context={"reference": "MESA-1", "title": "x"},
        message_id="<crlf-test@mesa>",
    )
    assert deliver(row.id) == FAILED
    assert smtp.messages == []
    assert "inválida" in Outbox.get_by_id(row.id).last_error


def test_each_mail_carries_its_rows_message_id_and_ticket_thread(app, smtp):
    ticket = make_ticket(user("interno"))
    for row in Outbox.select():
        [message] = [m for m in smtp.messages if m["message_id"] == row.message_id]
        parsed = message["message"]
        assert parsed["X-Mesa-Ticket"] == ticket.reference
        assert parsed["In-Reply-To"].startswith(f"<ticket-{ticket.id}@")
        assert parsed["Auto-Submitted"] == "auto-generated"


def test_each_person_gets_one_mail_per_event_whatever_roles_they_hold(app, smtp):
    ticket = make_ticket(user("interno"))
    services.assign(user("aiq"), ticket.id, user("focal").id)  # focal: assignee and queue
    services.add_comment(user("interno"), ticket.id, "¿Alguna novedad?")
    rows = list(Outbox.select().where(Outbox.event == "comment_public"))
    assert sorted(r.recipient for r in rows) == ["aiq@insta.ec", "focal@insta.ec"]
    told = [m for m in smtp.messages if "¿Alguna novedad?" in m["text"]]
    assert sorted(a for m in told for a in m["to"]) == ["aiq@insta.ec", "focal@insta.ec"]


def test_html_part_escapes_what_people_typed(app, smtp):
    make_ticket(user("interno"), title='<img src=x onerror="alert(1)"> & más')
    htmls = [m["message"].get_body(preferencelist=("html",)).get_content() for m in smtp.messages]
    assert htmls and all("<img" not in html for html in htmls)
    assert any("&lt;img src=x" in html for html in htmls)


def test_step_4_fifteen_days_remind_the_aiq_and_sge_before_and_at_breach(app, smtp):
    from ticketing.models import Institution

    insta = Institution.get(Institution.sigla == "INSTA")
    ticket = services.open_linked_ticket(
        user("agq"),
        "parametrizacion-capacitacion",
        "Parametrización en capacitación — INSTA",
        {},
        institution_id=insta.id,
        requester=user("aiq"),
    )
    due = Ticket.get_by_id(ticket.id).due_at
    assert dt.timedelta(days=14, hours=23) < due - now() <= dt.timedelta(days=15)
    smtp.messages.clear()
    assert send_reminders(now()) == 0  # fifteen days ahead: nothing yet
    assert send_reminders(due - dt.timedelta(days=2)) == 2
    assert send_reminders(due - dt.timedelta(days=1)) == 0
    assert send_reminders(due + dt.timedelta(minutes=5)) == 2
    assert send_reminders(due + dt.timedelta(days=3)) == 0
    events = sorted(
        (r.event, r.recipient)
        for r in Outbox.select().where(Outbox.ticket == ticket.id)
        if r.event.startswith("deadline")
    )
    assert events == [
        ("deadline_near", "agq@sge.ec"),
        ("deadline_near", "aiq@insta.ec"),
        ("deadline_passed", "agq@sge.ec"),
        ("deadline_passed", "aiq@insta.ec"),
    ]
    assert len(smtp.messages) == 4
    assert all(due.strftime("%Y-%m-%d") in m["text"] for m in smtp.messages)


@pytest.mark.file_db
def test_reminder_runs_at_once_on_several_machines_send_nothing_twice(app, smtp):
    tickets = [make_ticket(user("interno")) for _ in range(3)]
    for ticket in tickets:
        _due(ticket, days=1)
    smtp.messages.clear()
    barrier, errors, counts = threading.Barrier(3), [], []

    def cron_run():
        try:
            with app.app_context():
                db.connect(reuse_if_open=True)
                try:
                    barrier.wait(30)
                    counts.append(send_reminders())
                finally:
                    db.close()
        except Exception as exc:
            errors.append("".join(traceback.format_exception(exc)))

    threads = [threading.Thread(target=cron_run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors[0]
    rows = list(Outbox.select().where(Outbox.event == "deadline_near"))
    assert sum(counts) == len(rows) == 3 * 3
    assert len({(r.ticket_id, r.recipient) for r in rows}) == len(rows)
    assert len(smtp.messages) == len(rows)


def test_a_comment_mail_carries_its_markdown_as_text_and_sanitised_html(app, smtp):
    ticket = make_ticket(user("interno"))
    body = (
        "Revise la **bandeja de salida**:\n- firmar\n- enviar\n\n"
        "[guía](https://www.gobiernoelectronico.gob.ec) "
        '<script>alert(1)</script> <img src=x onerror="alert(2)"> [x](javascript:alert(3))'
    )
    services.add_comment(user("focal"), ticket.id, body)
    [message] = [m for m in smtp.mailbox.to("interno@insta.ec") if "bandeja" in m["text"]]
    # the text part: the Markdown as it was written
    assert body.replace("\n", "\r\n") in message["text"]
    html = message["message"].get_body(preferencelist=("html",)).get_content()
    assert "<strong>bandeja de salida</strong>" in html
    assert "<li>firmar</li>" in html
    assert (
        'href="https://www.gobiernoelectronico.gob.ec" rel="noopener noreferrer nofollow"' in html
    )
    assert "<script" not in html and "<img" not in html
    assert 'href="javascript' not in html.lower()  # left as text, never a link
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown as typed, inert


def test_every_html_part_with_a_comment_gets_it_sanitised(app):
    """A template the AGQ wrote with {{ comment }} (not comment_html) is safe too."""
    hostile = "**hola** <script>alert(1)</script>"
    out = preview(
        "[{{ reference }}] x",
        "{{ comment }}",
        '<div style="white-space: pre-wrap">{{ comment }}</div>',
        {"comment": hostile},
    )
    assert out["text"] == hostile
    assert out["html"] == (
        '<div style="white-space: pre-wrap"><p><strong>hola</strong> '
        "&lt;script&gt;alert(1)&lt;/script&gt;</p></div>"
    )
    for event in ("comment_public", "comment_internal", "mention"):
        template = find_template(event, "", "es")
        assert "comment_html" in template.html
        html = preview(template.subject, template.text, template.html, {"comment": hostile})["html"]
        assert "<strong>hola</strong>" in html and "<script" not in html
