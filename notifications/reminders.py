"""Deadline reminders: before a due date and once it has passed, each sent once."""

import datetime as dt
import logging

from flask import current_app

from ticketing.models import ACTIVE_CATEGORIES, Ticket, now
from ticketing.outbox import queue_mail, unit_of_work

log = logging.getLogger("mesa.reminders")

NEAR, PASSED = "deadline_near", "deadline_passed"
REMINDER_ROLES = ["requester", "assignee", "queue"]


def due_tickets(moment: dt.datetime | None = None):
    """Active tickets whose due date is within REMINDER_DAYS_BEFORE days, or past."""
    moment = moment or now()
    horizon = moment + dt.timedelta(days=current_app.config["REMINDER_DAYS_BEFORE"])
    return (
        Ticket.select()
        .where(
            Ticket.state_category.in_(ACTIVE_CATEGORIES)
            & Ticket.due_at.is_null(False)
            & (Ticket.due_at <= horizon)
        )
        .order_by(Ticket.due_at, Ticket.id)
    )


def send_reminders(moment: dt.datetime | None = None) -> int:
    """Write the reminders now due; returns how many mails were queued.

    Each mail has a dedupe key (kind, ticket, due date, person), so running this twice,
    or from two processes at once, sends nothing twice; a new due date reminds anew.
    """
    from ticketing.services import definition, recipients, ticket_context

    moment = moment or now()
    queued = 0
    # read first: an open cursor would keep SQLite's read snapshot across the writes below
    for ticket in list(due_tickets(moment)):
        kind = PASSED if ticket.due_at <= moment else NEAR
        due = ticket.due_at.strftime("%Y%m%dT%H%M%S")
        with unit_of_work():
            context = ticket_context(ticket, None)
            slug = definition(ticket)["slug"]
            for person in recipients(ticket, REMINDER_ROLES):
                row = queue_mail(
                    kind,
                    person,
                    ticket=ticket,
                    context=context,
                    template_type=slug,
                    dedupe_key=f"{kind}:{ticket.id}:{due}:{person.id}",
                )
                queued += row is not None
            reminded = list(ticket.reminded or [])
            if kind not in reminded:
                # bookkeeping only (what was sent for this due date): no edit, no version bump
                Ticket.update(reminded=reminded + [kind]).where(Ticket.id == ticket.id).execute()
    if queued:
        log.info("reminders: %s mail(s) queued", queued)
    return queued


def reminders_job() -> int:
    """RQ entry point of the periodic reminders."""
    from notifications.jobs import job_context

    with job_context():
        return send_reminders()
