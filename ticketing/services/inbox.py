"""The bell: a person's own notices (how many unread, the list, marking them read) and
which events also reach them by mail.

Notices are written by `notify.tell`, beside the mail of the same event. Everything here
reads or changes only the acting person's own rows: another person's notice is NotFound.
"""

from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from peewee import JOIN

from ticketing.errors import NotFound, ValidationFailed
from ticketing.models import INTERNO, Notice, NoticePreference, NotificationTemplate, User, now
from ticketing.outbox import unit_of_work
from ticketing.visibility import get_visible_ticket

PAGE_SIZE = 25
ID_MAX = 2**31 - 1  # ids are 32-bit integer columns on PostgreSQL
BELL_CAP = 99  # the bell says "99+" past this: its count reads at most BELL_CAP + 1 rows

# What each event says in the list and on the preferences page (Spanish first).
EVENT_LABELS = {
    "ticket_opened": _l("Ticket registrado"),
    "ticket_opened_queue": _l("Ticket nuevo en la cola"),
    "assigned": _l("Ticket asignado a usted"),
    "comment_public": _l("Comentario nuevo"),
    "comment_internal": _l("Nota interna nueva"),
    "mention": _l("Le mencionaron en una nota interna"),
    "state_changed": _l("Cambio de estado"),
    "escalated": _l("Escalado a SGE"),
    "returned": _l("Devuelto al primer nivel"),
    "resolution_check": _l("¿Se resolvió su consulta?"),
    "course_dates_set": _l("Fechas de los cursos"),
    "approved": _l("Solicitud aprobada"),
    "rejected": _l("Solicitud rechazada"),
    "setup_ready": _l("Ambiente de capacitación listo"),
    "production_approved": _l("Paso a producción aprobado"),
}
# Templates that are not a ticket's event told through `notify`: account mail (always
# sent), the fallback template, and the deadline reminders (mailed by the reminder job).
NOT_NOTICED = {"invitation", "password_reset", "generic", "deadline_near", "deadline_passed"}
INTERNAL_EVENTS = {"comment_internal", "mention"}  # support staff only: never an internal user


def event_label(event: str) -> str:
    """The event as people read it (an event a ticket type added is shown by its name)."""
    return str(EVENT_LABELS.get(event, event))


def _own(user):
    return Notice.select().where(Notice.user == user.id)


def unread_count(user) -> int:
    """How many of `user`'s notices are unread, counting at most BELL_CAP + 1 (one query)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return 0
    return _own(user).where(Notice.read_at.is_null()).order_by().limit(BELL_CAP + 1).count()


@dataclass
class NoticePage:
    rows: list  # Notice rows, newest first, each with `.actor` joined (or None)
    next_before: int | None  # the `before` of the next (older) page, None at the end


def notices(user, *, before: int | None = None, limit: int = PAGE_SIZE) -> NoticePage:
    """`user`'s notices newest first, `limit` at a time; `before` (a notice id) pages on."""
    actor = User.alias()
    query = (
        _own(user)
        .select_extend(actor.id, actor.full_name)
        .join(actor, JOIN.LEFT_OUTER, on=(Notice.actor == actor.id), attr="actor")
        .order_by(Notice.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(Notice.id < before)
    rows = list(query)
    more = len(rows) > limit
    rows = rows[:limit]
    return NoticePage(rows=rows, next_before=rows[-1].id if more else None)


def mark_read(user, notice_id) -> Notice:
    """Mark one of `user`'s own notices read (another's, or none: NotFound)."""
    wanted = isinstance(notice_id, int) and 0 < notice_id <= ID_MAX
    notice = _own(user).where(Notice.id == notice_id).first() if wanted else None
    if notice is None:
        raise NotFound(_("El aviso no existe o no es suyo."))
    if notice.read_at is None:
        with unit_of_work():
            notice.read_at = now()
            Notice.update(read_at=notice.read_at).where(
                (Notice.id == notice.id) & Notice.read_at.is_null()
            ).execute()
    return notice


def open_notice(user, notice_id) -> int | None:
    """Mark the notice read; the id of its ticket if `user` may still see it, else None."""
    notice = mark_read(user, notice_id)
    if notice.ticket_id is None or get_visible_ticket(user, notice.ticket_id) is None:
        return None
    return notice.ticket_id


def mark_all_read(user, *, up_to: int | None = None) -> int:
    """Mark `user`'s unread notices read (only those up to notice `up_to`, the newest the
    page showed, so one that arrived since stays unread); returns how many."""
    query = Notice.update(read_at=now()).where((Notice.user == user.id) & Notice.read_at.is_null())
    if up_to is not None:
        query = query.where(Notice.id <= up_to)
    with unit_of_work():
        return query.execute()


def _events(user) -> list[str]:
    """The events a notice to `user` may be about: those with a mail template, less the
    internal ones for an internal user, in the labels' order."""
    left_out = NOT_NOTICED | (INTERNAL_EVENTS if user.role == INTERNO else set())
    found = {
        row.event
        for row in NotificationTemplate.select(NotificationTemplate.event).distinct()
        if row.event not in left_out
    }
    order = list(EVENT_LABELS)
    return sorted(found, key=lambda e: (order.index(e) if e in order else len(order), e))


def preferences(user) -> list[tuple[str, str, bool]]:
    """(event, label, also by mail) for every event a person can be told of."""
    off = {
        row.event
        for row in NoticePreference.select(NoticePreference.event).where(
            (NoticePreference.user == user.id) & (NoticePreference.mail == False)
        )
    }
    return [(event, event_label(event), event not in off) for event in _events(user)]


def set_preferences(user, choices: dict) -> list[tuple[str, str, bool]]:
    """Choose, per event, whether it also comes by mail (`{event: bool}`); events left out
    keep their choice. An unknown event refuses the whole change."""
    known = set(_events(user))
    unknown = [str(event) for event in choices if event not in known]
    if unknown:
        message = _("No se reconoce el tipo de aviso.")
        raise ValidationFailed(message, fields={"correo": message})
    with unit_of_work():
        NoticePreference.delete().where(
            (NoticePreference.user == user.id) & NoticePreference.event.in_(list(choices))
        ).execute()
        off = [event for event, mail in choices.items() if not mail]
        if off:  # no row means mail on: only the events turned off are kept
            NoticePreference.insert_many(
                [{"user": user.id, "event": event, "mail": False} for event in off]
            ).execute()
    return preferences(user)
