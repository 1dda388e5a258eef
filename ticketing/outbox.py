"""The outbox: notifications written with the change that causes them, sent after commit.

The domain only records that a mail is due (an outbox row in the change's transaction);
who delivers it after commit is wired in by the app factory (`DISPATCH` in
`app.extensions`), so nothing here imports delivery, RQ or the app.
"""

import contextvars
import logging
import uuid
from contextlib import contextmanager

import peewee
from flask import current_app, has_app_context

from ticketing.db import db
from ticketing.models import FAILED, PENDING, SENT, Outbox

log = logging.getLogger("mesa.outbox")

_pending: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "outbox_pending", default=None
)


SENDING = "sending"  # claimed by a deliverer; `sent_at` holds when the attempt started
KEPT = "kept"  # rendered and logged, not sent: no MAIL_SERVER (the embedded default)
STATUSES = (PENDING, SENDING, SENT, KEPT, FAILED)
DISPATCH = "mesa.dispatch"  # app.extensions key: callable(outbox_ids) run after commit


def message_id_domain() -> str:
    """The right-hand side of our Message-IDs: the sender's domain."""
    sender = current_app.config.get("MAIL_DEFAULT_SENDER") if has_app_context() else None
    domain = str(sender or "").rsplit("@", 1)[-1].strip(" >")
    return domain if domain and all(c.isalnum() or c in ".-" for c in domain) else "mesa.local"


def _transaction():
    """A transaction for a change: on SQLite it takes the write lock at BEGIN.

    A deferred SQLite transaction that reads, then writes while another connection has
    written since, fails at once with "database is locked" instead of waiting its turn
    (two cron runs, or two threads of the embedded server); BEGIN IMMEDIATE waits.
    """
    if isinstance(db.obj, peewee.SqliteDatabase):
        return db.atomic(lock_type="IMMEDIATE")
    return db.atomic()


@contextmanager
def unit_of_work():
    """One transaction; outbox rows written inside it are dispatched once it commits.

    Nested units join the outermost one, so effects that open further tickets
    share its transaction and its after-commit dispatch.
    """
    outer = _pending.get()
    if outer is not None:
        mark = len(outer)
        try:
            with db.atomic():  # a savepoint: rolled back alone, its rows must not be sent
                yield outer
        except BaseException:
            del outer[mark:]
            raise
        return
    ids: list[int] = []
    token = _pending.set(ids)
    try:
        with _transaction():
            yield ids
    finally:
        _pending.reset(token)
    if ids:
        dispatch = current_app.extensions.get(DISPATCH) if has_app_context() else None
        if dispatch is None:  # no deliverer wired in: the sweeper sends them later
            log.warning("no dispatcher: %s outbox row(s) left for the sweeper", len(ids))
            return
        dispatch(ids)


def queue_mail(
    event: str,
    user,
    *,
    ticket=None,
    context: dict | None = None,
    template_type: str = "",
    dedupe_key: str | None = None,
) -> Outbox | None:
    """Write one outbox row for `user`; it is sent after the surrounding transaction commits.

    With a `dedupe_key`, a second row for the same key is not written (reminders).
    """
    domain = message_id_domain()
    row = Outbox(
        recipient=user.email,
        recipient_user=user.id,
        ticket=ticket.id if ticket is not None else None,
        event=event,
        template_type=template_type,
        locale=user.locale or "es",
        context=context or {},
        message_id=f"<{uuid.uuid4().hex}@{domain}>",
        dedupe_key=dedupe_key,
        status=PENDING,
    )
    if dedupe_key is not None:
        try:
            with db.atomic():
                row.save(force_insert=True)
        except peewee.IntegrityError:
            return None
    else:
        row.save(force_insert=True)
    pending = _pending.get()
    if pending is not None:
        pending.append(row.id)
    else:  # written outside a unit of work: the sweeper will pick it up
        log.warning("outbox row %s written outside a unit of work", row.id)
    return row
