"""The outbox: notifications written with the change that causes them, sent after commit.

The domain only records that a mail is due (an outbox row in the change's transaction);
who delivers it after commit is wired in by the app factory (`DISPATCH` in
`app.extensions`), so nothing here imports delivery, RQ or the app. Webhook deliveries
written inside a unit of work are handed over after commit the same way
(`WEBHOOK_DISPATCH`).
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


class _Webhooks:
    """The webhook deliveries a unit of work wrote, and the events it has recorded once."""

    def __init__(self):
        self.ids: list[int] = []
        self.seen: dict = {}  # insertion-ordered, so a rolled-back savepoint's keys go too

    def mark(self) -> tuple[int, int]:
        return len(self.ids), len(self.seen)

    def forget_after(self, mark: tuple[int, int]) -> None:
        del self.ids[mark[0] :]
        for key in list(self.seen)[mark[1] :]:
            del self.seen[key]


_webhooks: contextvars.ContextVar[_Webhooks | None] = contextvars.ContextVar(
    "outbox_webhooks", default=None
)


SENDING = "sending"  # claimed by a deliverer; `sent_at` holds when the attempt started
KEPT = "kept"  # rendered and logged, not sent: no MAIL_SERVER (the embedded default)
STATUSES = (PENDING, SENDING, SENT, KEPT, FAILED)
DISPATCH = "mesa.dispatch"  # app.extensions key: callable(outbox_ids) run after commit
# app.extensions key: callable(webhook_delivery_ids) run after commit
WEBHOOK_DISPATCH = "mesa.webhook_dispatch"


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
    """One transaction; outbox rows and webhook deliveries written inside it are
    dispatched once it commits.

    Nested units join the outermost one, so effects that open further tickets
    share its transaction and its after-commit dispatch.
    """
    outer = _pending.get()
    if outer is not None:
        mark = len(outer)
        hooks = _webhooks.get()
        hook_mark = hooks.mark() if hooks is not None else None
        try:
            with db.atomic():  # a savepoint: rolled back alone, its rows must not be sent
                yield outer
        except BaseException:
            del outer[mark:]
            if hooks is not None:
                hooks.forget_after(hook_mark)
            raise
        return
    ids: list[int] = []
    hooks = _Webhooks()
    token = _pending.set(ids)
    hooks_token = _webhooks.set(hooks)
    try:
        with _transaction():
            yield ids
    finally:
        _webhooks.reset(hooks_token)
        _pending.reset(token)
    if ids:
        _after_commit(DISPATCH, ids, "outbox row(s)")
    if hooks.ids:
        _after_commit(WEBHOOK_DISPATCH, hooks.ids, "webhook delivery(ies)")


def _after_commit(key: str, ids: list[int], what: str) -> None:
    """Hand committed rows to the deliverer wired in under `key` (none: the sweeper's)."""
    dispatch = current_app.extensions.get(key) if has_app_context() else None
    if dispatch is None:  # no deliverer wired in: the sweeper sends them later
        log.warning("no dispatcher: %s %s left for the sweeper", len(ids), what)
        return
    dispatch(ids)


def first_in_unit(key) -> bool:
    """Whether `key` is new to the surrounding unit of work (then it is remembered).

    Outside a unit of work every key is new. A savepoint rolled back forgets its keys.
    """
    hooks = _webhooks.get()
    if hooks is None:
        return True
    if key in hooks.seen:
        return False
    hooks.seen[key] = True
    return True


def queue_webhooks(delivery_ids) -> None:
    """Have these webhook deliveries, just written, dispatched after the transaction commits."""
    hooks = _webhooks.get()
    ids = [int(i) for i in delivery_ids]
    if hooks is not None:
        hooks.ids.extend(ids)
    elif ids:  # written outside a unit of work: the sweeper will pick them up
        log.warning("webhook deliveries %s written outside a unit of work", ids)


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
