"""Keyset pages over tickets: "the next rows after this one" as an index range, not an OFFSET.

A cursor names the last row a page showed by its (updated_at, id); the next page is
`(updated_at, id) > cursor` (or `<`, newest first) in the same order, a row-value
comparison that PostgreSQL and SQLite both read as a range of the (scope, updated_at, id)
indexes of `Ticket`: page 200 costs what page 1 costs.
"""

import base64
import binascii
import datetime as dt
import json

from peewee import Tuple

from ticketing.models import Ticket

ID_MAX = 2**31 - 1


def encode_cursor(ticket: Ticket) -> str:
    text = json.dumps([ticket.updated_at.isoformat(), ticket.id])
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int] | None:
    """The (updated_at, id) a cursor names; None for anything this module did not write."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        moment, ticket_id = json.loads(text)
        moment = dt.datetime.fromisoformat(moment)
    except (ValueError, TypeError, RecursionError, binascii.Error):
        return None
    if (
        isinstance(ticket_id, bool)
        or not isinstance(ticket_id, int)
        or not 0 <= ticket_id <= ID_MAX
        or moment.tzinfo
    ):
        return None
    return moment, ticket_id


def order(*, newest_first: bool) -> tuple:
    """The order keyset pages walk: (updated_at, id), ascending or descending."""
    if newest_first:
        return (Ticket.updated_at.desc(), Ticket.id.desc())
    return (Ticket.updated_at, Ticket.id)


def after(query, position: tuple[dt.datetime, int], *, newest_first: bool):
    """The rows of `query` that come after `position` in `order(newest_first=...)`."""
    moment, ticket_id = position
    key = Tuple(Ticket.updated_at, Ticket.id)
    bound = Tuple(moment, ticket_id)
    return query.where(key < bound if newest_first else key > bound)
