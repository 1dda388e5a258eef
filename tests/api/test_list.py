"""GET /tickets: constant cost per page, stable cursors, filters on indexed columns."""

import datetime as dt
from collections import Counter

from tests.conftest import make_ticket, user
from ticketing import services
from ticketing.db import count_queries, db
from ticketing.models import Ticket

ESCALATION = {"modulo": "reportes", "descripcion": "El reporte no carga."}


def _grow(n: int):
    """`n` tickets of institution A: two types, several requesters, some assigned or closed."""
    focal = user("focal")
    requesters = [user("interno"), focal, user("aiq")]
    for i in range(n):
        if i % 4 == 3:
            make_ticket(requesters[i % 2 + 1], "escalamiento-sge", fields=ESCALATION)
            continue
        ticket = make_ticket(requesters[i % 3])
        if i % 2:
            services.assign(focal, ticket.id, focal.id)
        if i % 5 == 4:
            services.transition(focal, ticket.id, "resolver", comment="Listo.")


def _cost(api, key, path) -> tuple[list[str], dict]:
    api.get(path, key)  # warm-up: the token's use is recorded at most once a minute
    with count_queries() as statements:
        response = api.get(path, key)
    assert response.status_code == 200, response.get_json()
    return list(statements), response.get_json()


LISTS = [
    ("focal", "/tickets?limit=100"),
    ("focal", "/tickets?limit=100&queue=1&state=nuevo"),
    ("focal", "/tickets?limit=100&type=escalamiento-sge&updated_since=2000-01-01T00:00:00Z"),
    ("interno", "/tickets?limit=100"),
    ("agq", "/tickets?limit=100"),
]


def test_a_page_costs_the_same_queries_for_2_rows_or_40(app, api):
    _grow(3)
    small = {case: _cost(api, *case) for case in LISTS}
    _grow(37)
    for case in LISTS:
        few, few_body = small[case]
        many, many_body = _cost(api, *case)
        assert len(many_body["items"]) > len(few_body["items"]), case  # the rows really grew
        extra = Counter(many) - Counter(few)
        assert len(few) == len(many), (case, extra.most_common(3))
        assert len(many) <= 2, (case, many)  # the token, then the page with all it shows
    # and the page size does not matter either
    one, body = _cost(api, "focal", "/tickets?limit=1")
    assert len(body["items"]) == 1 and body["next_cursor"]
    assert len(one) == len(small[LISTS[0]][0])


def test_one_ticket_costs_the_same_queries_with_more_comments_and_files(app, api):
    from ticketing.fields import UploadedFile

    ticket = make_ticket()
    people = [user("interno"), user("focal"), user("aiq")]

    def talk(n):
        for i in range(n):
            author = people[i % 3]
            services.add_comment(
                author,
                ticket.id,
                f"Comentario {i}",
                internal=author.role != "interno" and bool(i % 2),
                files=[UploadedFile(f"{i}.txt", "text/plain", f"{i}".encode())] if i % 2 else (),
            )

    talk(2)
    few, few_body = _cost(api, "focal", f"/tickets/{ticket.id}")
    talk(30)
    many, many_body = _cost(api, "focal", f"/tickets/{ticket.id}")
    assert len(many_body["comments"]) == 32 and len(many_body["attachments"]) == 16
    assert len(few) == len(many), (Counter(many) - Counter(few)).most_common(3)


def _page_through(api, path, key="focal", cursor=None, between=None) -> list[int]:
    ids = []
    while True:
        query = path + (f"&cursor={cursor}" if cursor else "")
        body = api.get(query, key).get_json()
        ids += [t["id"] for t in body["items"]]
        cursor = body["next_cursor"]
        if between:
            between()
            between = None
        if cursor is None:
            return ids


def test_cursor_is_stable_while_tickets_arrive_and_change(app, api):
    """Keyset paging: an insert or a change never shifts a page into a repeat or a gap."""
    moment = dt.datetime(2024, 5, 1, 12, 0)
    tied = [make_ticket() for _ in range(6)]
    Ticket.update(updated_at=moment).where(Ticket.id.in_([t.id for t in tied])).execute()
    arrived = {}

    def meanwhile():
        # a ticket stamped the very second of the cursor (a tie, with a higher id) ...
        arrived["tie"] = make_ticket()
        Ticket.update(updated_at=moment).where(Ticket.id == arrived["tie"].id).execute()
        # ... one that sorts before the cursor, one brand new, and a change to a seen one
        arrived["older"] = make_ticket()
        Ticket.update(updated_at=moment - dt.timedelta(hours=1)).where(
            Ticket.id == arrived["older"].id
        ).execute()
        arrived["fresh"] = make_ticket()
        services.add_comment(user("focal"), tied[0].id, "Seguimos revisando.")

    seen = _page_through(api, "/tickets?limit=2", between=meanwhile)

    original = [t.id for t in tied]
    assert seen[:2] == original[:2]
    # every ticket not yet listed comes exactly once, in (updated_at, id) order
    assert seen[2:7] == original[2:] + [arrived["tie"].id]
    # what changed meanwhile comes again at the end, with its new version
    assert sorted(seen[7:]) == sorted([arrived["fresh"].id, tied[0].id])
    assert len(seen) == len(set(seen)) + 1  # tied[0] twice: before and after its change
    # what sorts before the cursor is for the next poll, which `updated_since` finds
    assert arrived["older"].id not in seen
    since = (moment - dt.timedelta(hours=1)).isoformat() + "Z"
    polled = _page_through(api, f"/tickets?limit=3&updated_since={since}")
    assert sorted(polled) == sorted(original + [a.id for a in arrived.values()])


def test_ties_on_updated_at_split_across_pages_lose_nothing(app, api):
    moment = dt.datetime(2024, 5, 1, 12, 0)
    tickets = [make_ticket(user("interno")) for _ in range(9)]
    Ticket.update(updated_at=moment).execute()
    for limit in (1, 2, 4, 8, 9):
        seen = _page_through(api, f"/tickets?limit={limit}")
        assert seen == [t.id for t in tickets], limit


# which column each filter (and the cursor's order) reads; the type filter reads the
# type's slug, then the ticket's type
FILTER_COLUMNS = {
    "queue": ("ticket", "queue_level"),
    "state": ("ticket", "state"),
    "type": ("ticket", "type_id"),
    "type (slug)": ("ticket_type", "slug"),
    "institution": ("ticket", "institution_id"),
    "updated_since": ("ticket", "updated_at"),
    "cursor": ("ticket", "updated_at"),
}
# visibility always pins one of these by equality, so an index led by one still serves
SCOPE_COLUMNS = {"institution_id", "queue_level", "requester_id"}


def _served_by_an_index(table: str, column: str) -> bool:
    assert column in {c.name for c in db.get_columns(table)}, (table, column)
    for index in db.get_indexes(table):
        columns = list(index.columns)
        if column in columns and set(columns[: columns.index(column)]) <= SCOPE_COLUMNS:
            return True
    return False


def test_every_filter_reads_an_indexed_column(app):
    assert not _served_by_an_index("ticket", "title")  # the check can fail
    missing = {
        name
        for name, (table, column) in FILTER_COLUMNS.items()
        if not _served_by_an_index(table, column)
    }
    assert not missing, missing
