"""Maintained ticket figures: what the queues and the dashboard show, without counting tickets.

Every ticket contributes one row key to `TicketCount` and a few to `TicketWeek` (see
`contributions`). Opening a ticket adds its keys; changing one subtracts the keys it had
and adds the keys it has, in the same transaction as the ticket's own write
(`ticketing.services.common.save_ticket` and `open_ticket` call `track`). Keys are
changed in one sorted order, so two transactions never wait on each other's rows in a
circle. `recount` computes the same figures from the tickets; tests and `stats check`
compare the two, and `rebuild` replaces the stored ones with the recount.
"""

import datetime as dt
from collections import Counter
from typing import NamedTuple

import peewee
from peewee import fn

from ticketing.models import DONE, REJECTED, Ticket
from ticketing.models.stats import NO_ASSIGNEE, TicketCount, TicketWeek

CLOSED_CATEGORIES = (DONE, REJECTED)
# the columns of each table's unique key, in the order of the keys `contributions` makes
COUNT_COLUMNS = TicketCount._meta.indexes[0][0]
WEEK_COLUMNS = TicketWeek._meta.indexes[0][0]


class Snapshot(NamedTuple):
    """What of a ticket the figures depend on."""

    institution: int
    queue_level: int
    type: int
    state_category: str
    assignee: int | None
    due_at: dt.datetime | None
    waiting_on: int | None
    created_at: dt.datetime
    closed_at: dt.datetime | None


def snapshot(ticket: Ticket) -> Snapshot:
    return Snapshot(
        int(ticket.institution_id),
        int(ticket.queue_level),
        int(ticket.type_id),
        ticket.state_category,
        ticket.assignee_id,
        ticket.due_at,
        ticket.waiting_on_id,
        ticket.created_at,
        ticket.closed_at,
    )


def monday(moment: dt.datetime | dt.date) -> dt.date:
    day = moment.date() if isinstance(moment, dt.datetime) else moment
    return day - dt.timedelta(days=day.weekday())


def contributions(s: Snapshot) -> tuple[tuple, list[tuple]]:
    """The `TicketCount` key and the `TicketWeek` keys one ticket adds one to."""
    count_key = (
        s.institution,
        s.queue_level,
        s.type,
        s.state_category,
        s.assignee or NO_ASSIGNEE,
        s.due_at is not None,
        s.waiting_on is not None,
    )
    weeks = [(s.institution, s.queue_level, monday(s.created_at), "opened")]
    if s.state_category in CLOSED_CATEGORIES and s.closed_at is not None:
        closed = monday(s.closed_at)
        weeks.append((s.institution, s.queue_level, closed, "closed"))
        if s.due_at is not None:
            kind = "met" if s.closed_at <= s.due_at else "missed"
            weeks.append((s.institution, s.queue_level, closed, kind))
    return count_key, weeks


def _deltas(before: Snapshot | None, after: Snapshot | None):
    counts: Counter = Counter()
    weeks: Counter = Counter()
    for snap, sign in ((before, -1), (after, 1)):
        if snap is None:
            continue
        count_key, week_keys = contributions(snap)
        counts[count_key] += sign
        for key in week_keys:
            weeks[key] += sign
    return (
        sorted((k, v) for k, v in counts.items() if v),
        sorted((k, v) for k, v in weeks.items() if v),
    )


def _add(model, columns, key, delta) -> None:
    row = dict(zip(columns, key, strict=True))
    (
        model.insert(**row, n=delta)
        .on_conflict(
            conflict_target=[getattr(model, c) for c in columns],
            update={model.n: model.n + delta},
        )
        .execute()
    )


def track(before: Snapshot | None, after: Snapshot | None) -> None:
    """Move the figures from what a ticket was (None: new) to what it is now."""
    counts, weeks = _deltas(before, after)
    for key, delta in counts:
        _add(TicketCount, COUNT_COLUMNS, key, delta)
    for key, delta in weeks:
        _add(TicketWeek, WEEK_COLUMNS, key, delta)


# ---------------------------------------------------------------- recount and rebuild


def _week_sql(column):
    """The Monday of a timestamp column, as the database computes it."""
    database = Ticket._meta.database
    database = getattr(database, "obj", database)  # the proxy's database, or a bound one
    if isinstance(database, peewee.SqliteDatabase):
        return fn.date(column, "weekday 0", "-6 days")
    return fn.date_trunc("week", column).cast("date")


def recount() -> tuple[dict, dict]:
    """The figures as the tickets give them now: ({count key: n}, {week key: n})."""
    counts = {}
    keys = (  # COUNT_COLUMNS, computed from a ticket
        Ticket.institution,
        Ticket.queue_level,
        Ticket.type,
        Ticket.state_category,
        fn.COALESCE(Ticket.assignee, NO_ASSIGNEE),
        Ticket.due_at.is_null(False),
        Ticket.waiting_on.is_null(False),
    )
    rows = Ticket.select(*keys, fn.COUNT(Ticket.id)).group_by(*keys).tuples()
    for *key, n in rows:
        key[5], key[6] = bool(key[5]), bool(key[6])
        counts[tuple(key)] = n
    weeks: dict = {}
    closed = Ticket.state_category.in_(CLOSED_CATEGORIES) & Ticket.closed_at.is_null(False)
    parts = [
        ("opened", Ticket.created_at, None),
        ("closed", Ticket.closed_at, closed),
        ("met", Ticket.closed_at, closed & (Ticket.closed_at <= Ticket.due_at)),
        ("missed", Ticket.closed_at, closed & (Ticket.closed_at > Ticket.due_at)),
    ]
    for kind, column, where in parts:
        week = _week_sql(column)
        query = Ticket.select(Ticket.institution, Ticket.queue_level, week, fn.COUNT(Ticket.id))
        if where is not None:
            query = query.where(where)
        for institution, level, monday_, n in query.group_by(
            Ticket.institution, Ticket.queue_level, week
        ).tuples():
            if isinstance(monday_, str):
                monday_ = dt.date.fromisoformat(monday_[:10])
            elif isinstance(monday_, dt.datetime):
                monday_ = monday_.date()
            weeks[(institution, int(level), monday_, kind)] = n
    return counts, weeks


def stored() -> tuple[dict, dict]:
    """The maintained figures, in the shape of `recount` (rows at zero left out)."""
    counts = {
        tuple(row[:-1]): row[-1]
        for row in TicketCount.select(
            *(getattr(TicketCount, c) for c in COUNT_COLUMNS), TicketCount.n
        )
        .where(TicketCount.n != 0)
        .tuples()
    }
    counts = {(*k[:5], bool(k[5]), bool(k[6])): n for k, n in counts.items()}
    weeks = {}
    for *key, n in (
        TicketWeek.select(*(getattr(TicketWeek, c) for c in WEEK_COLUMNS), TicketWeek.n)
        .where(TicketWeek.n != 0)
        .tuples()
    ):
        if isinstance(key[2], str):
            key[2] = dt.date.fromisoformat(key[2])
        weeks[tuple(key)] = n
    return counts, weeks


def rebuild() -> tuple[int, int]:
    """Replace the stored figures with a recount; returns the rows written."""
    counts, weeks = recount()
    with Ticket._meta.database.atomic():
        TicketCount.delete().execute()
        TicketWeek.delete().execute()
        count_rows = [
            {**dict(zip(COUNT_COLUMNS, k, strict=True)), "n": n} for k, n in counts.items()
        ]
        week_rows = [{**dict(zip(WEEK_COLUMNS, k, strict=True)), "n": n} for k, n in weeks.items()]
        for start in range(0, len(count_rows), 500):
            TicketCount.insert_many(count_rows[start : start + 500]).execute()
        for start in range(0, len(week_rows), 500):
            TicketWeek.insert_many(week_rows[start : start + 500]).execute()
    return len(count_rows), len(week_rows)


def differences() -> list[str]:
    """Where the stored figures differ from a recount (empty when they agree)."""
    out = []
    for label, (have, want) in zip(
        ("count", "week"), zip(stored(), recount(), strict=True), strict=True
    ):
        for key in sorted(set(have) | set(want), key=str):
            if have.get(key, 0) != want.get(key, 0):
                out.append(f"{label} {key}: stored {have.get(key, 0)}, recount {want.get(key, 0)}")
    return out
