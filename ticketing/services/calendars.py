"""Business calendars of the queues: reading one as a `WorkCalendar`, and editing it.

The AGQ edits any queue's calendar (SGE's and, while setting an institution up, its
queue's); an AIQ their institution's. Every edit is checked here: hours as "HH:MM" spans
that do not overlap, a time zone the system knows, declared days within a few years.
"""

import datetime as dt
import re
import zoneinfo

import peewee
from flask_babel import gettext as _

from ticketing.business_time import DEFAULT_HOURS, DEFAULT_TIMEZONE, WorkCalendar
from ticketing.errors import NotFound, StaleVersion, ValidationFailed
from ticketing.models import BusinessCalendar, CalendarDay, Queue, now
from ticketing.outbox import unit_of_work
from ticketing.services.common import whole_number
from ticketing.visibility import editable_queues

SPANS_MAX = 4  # working spans one weekday may have (e.g. morning and afternoon)
DAYS_AHEAD = 5 * 366  # how far ahead (or back) a declared day may be
LABEL_MAX = 120
CLOCK = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d|24:00")


def default_hours() -> dict[str, list[list[str]]]:
    return {str(day): [list(span) for span in spans] for day, spans in DEFAULT_HOURS.items()}


def work_calendar(queue_id) -> WorkCalendar:
    """The queue's calendar as the arithmetic reads it (the default when it has none)."""
    row = BusinessCalendar.get_or_none(BusinessCalendar.queue == queue_id)
    if row is None:
        return WorkCalendar()
    days = list(CalendarDay.select().where(CalendarDay.calendar == row.id))
    return WorkCalendar(
        timezone=row.timezone,
        hours={int(k): tuple(tuple(s) for s in v) for k, v in (row.hours or {}).items() if v},
        national_holidays=row.national_holidays,
        days_off=frozenset(d.day for d in days if not d.working),
        working_days=frozenset(d.day for d in days if d.working),
    )


def editable_queue(actor, queue_id) -> Queue:
    number = whole_number(queue_id)
    queue = editable_queues(actor).where(Queue.id == number).first() if number else None
    if queue is None:
        raise NotFound(_("La cola no existe o no está a su alcance."))
    return queue


def calendar_of(actor, queue_id) -> tuple[Queue, BusinessCalendar, list[CalendarDay]]:
    """The queue, its calendar (unsaved default when it has none) and its declared days."""
    queue = editable_queue(actor, queue_id)
    row = BusinessCalendar.get_or_none(BusinessCalendar.queue == queue.id)
    if row is None:
        return queue, BusinessCalendar(queue=queue.id, hours=default_hours(), version=0), []
    days = list(
        CalendarDay.select().where(CalendarDay.calendar == row.id).order_by(CalendarDay.day)
    )
    return queue, row, days


def clean_hours(hours: dict) -> dict[str, list[list[str]]]:
    """Weekly hours, checked: each weekday's spans as ordered, non-overlapping "HH:MM" pairs."""
    errors: dict[str, str] = {}
    cleaned: dict[str, list[list[str]]] = {}
    for day in range(7):
        spans = (hours or {}).get(str(day)) or []
        if len(spans) > SPANS_MAX:
            errors[f"day{day}"] = _("Máximo %(n)s tramos por día.", n=SPANS_MAX)
            continue
        ordered = []
        for span in spans:
            start, end = (
                (str(span[0]).strip(), str(span[1]).strip()) if len(span) == 2 else ("", "")
            )
            if not (CLOCK.fullmatch(start) and CLOCK.fullmatch(end)):
                errors[f"day{day}"] = _("Escriba las horas como HH:MM, p. ej. 08:00.")
                break
            if end <= start:
                errors[f"day{day}"] = _("La hora de fin debe ser posterior a la de inicio.")
                break
            ordered.append([start, end])
        ordered.sort()
        if any(ordered[i][1] > ordered[i + 1][0] for i in range(len(ordered) - 1)):
            errors[f"day{day}"] = _("Los tramos de un día no pueden superponerse.")
        if ordered:
            cleaned[str(day)] = ordered
    if not errors and not cleaned:
        errors["hours"] = _("El calendario necesita al menos un día con horario.")
    if errors:
        raise ValidationFailed(next(iter(errors.values())), fields=errors)
    return cleaned


def set_calendar(actor, queue_id, *, hours, timezone, national_holidays, expected_version):
    """Save a queue's weekly hours, time zone and whether national holidays apply."""
    queue, row, _days = calendar_of(actor, queue_id)
    cleaned = clean_hours(hours)
    timezone = (timezone or DEFAULT_TIMEZONE).strip()
    if timezone not in zoneinfo.available_timezones():
        message = _("Zona horaria desconocida.")
        raise ValidationFailed(message, fields={"timezone": message})
    expected = whole_number(expected_version)
    stale = StaleVersion(
        _("Otra persona modificó este calendario mientras usted lo editaba. Recargue la página.")
    )
    if expected is None or expected != row.version:
        raise stale
    values = {
        "hours": cleaned,
        "timezone": timezone,
        "national_holidays": bool(national_holidays),
        "updated_at": now(),
        "version": expected + 1,
    }
    with unit_of_work():
        if row.id is None:
            try:
                with BusinessCalendar._meta.database.atomic():
                    BusinessCalendar.create(queue=queue.id, **values)
            except peewee.IntegrityError:
                raise stale from None
            return
        updated = (
            BusinessCalendar.update(**values)
            .where((BusinessCalendar.id == row.id) & (BusinessCalendar.version == expected))
            .execute()
        )
        if updated != 1:
            raise stale


def _calendar_row(queue: Queue) -> BusinessCalendar:
    row = BusinessCalendar.get_or_none(BusinessCalendar.queue == queue.id)
    if row is None:
        try:
            with BusinessCalendar._meta.database.atomic():
                row = BusinessCalendar.create(queue=queue.id, hours=default_hours())
        except peewee.IntegrityError:  # created meanwhile by someone else
            row = BusinessCalendar.get(BusinessCalendar.queue == queue.id)
    return row


def declare_day(actor, queue_id, day, *, working: bool, label: str) -> CalendarDay:
    """Declare a day off (a local holiday, a bridge) or a working day for a queue."""
    queue = editable_queue(actor, queue_id)
    try:
        when = day if isinstance(day, dt.date) else dt.date.fromisoformat(str(day).strip())
    except ValueError:
        message = _("Escriba la fecha como AAAA-MM-DD.")
        raise ValidationFailed(message, fields={"day": message}) from None
    if abs((when - dt.date.today()).days) > DAYS_AHEAD:
        message = _("La fecha está demasiado lejos.")
        raise ValidationFailed(message, fields={"day": message})
    label = " ".join(str(label or "").split())
    if not label or len(label) > LABEL_MAX:
        message = _("Escriba un motivo de hasta %(n)s caracteres.", n=LABEL_MAX)
        raise ValidationFailed(message, fields={"label": message})
    with unit_of_work():
        row = _calendar_row(queue)
        existing = CalendarDay.get_or_none(
            (CalendarDay.calendar == row.id) & (CalendarDay.day == when)
        )
        if existing is not None:
            CalendarDay.update(working=working, label=label).where(
                CalendarDay.id == existing.id
            ).execute()
            return CalendarDay.get_by_id(existing.id)
        return CalendarDay.create(calendar=row.id, day=when, working=working, label=label)


def remove_day(actor, queue_id, day_id) -> None:
    """Take a declared day off a queue's calendar (only that queue's)."""
    queue = editable_queue(actor, queue_id)
    number = whole_number(day_id)
    with unit_of_work():
        removed = (
            CalendarDay.delete()
            .where(
                (CalendarDay.id == (number or 0))
                & CalendarDay.calendar.in_(
                    BusinessCalendar.select(BusinessCalendar.id).where(
                        BusinessCalendar.queue == queue.id
                    )
                )
            )
            .execute()
        )
    if not removed:
        raise NotFound(_("Ese día no está en el calendario."))
