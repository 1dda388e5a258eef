"""Fast by design: a list page costs the same number of SQL statements at any size.

Each page is requested once to warm up, then counted with 3 rows' worth of data and again
with 40; the counts must be equal. On a difference the failure names the statements
that ran more often, which is the query repeated per row.
"""

import re
from collections import Counter

import pytest

from tests.conftest import make_ticket, user
from ticketing import services
from ticketing.db import count_queries
from ticketing.models import Ticket

ESCALATION = {"modulo": "reportes", "descripcion": "El reporte no carga."}
SMALL, LARGE = 3, 40


def _shape(sql: str) -> str:
    """A statement with its literal lists and numbers folded, to compare across sizes."""
    sql = re.sub(r"IN \([^)]*\)", "IN (...)", sql)
    return re.sub(r"\b\d+\b", "N", sql)


def _statements(client, url) -> list[str]:
    client.get(url).get_data()  # warm-up: caches, lazy imports
    with count_queries() as statements:
        response = client.get(url)
        response.get_data()  # a streamed body (CSV export) runs its queries here
    assert response.status_code == 200, url
    return list(statements)


def _assert_constant(small: list[str], large: list[str], url: str):
    if len(small) == len(large):
        return
    extra = Counter(map(_shape, large)) - Counter(map(_shape, small))
    repeated = "\n".join(f"  +{n}× {sql[:300]}" for sql, n in extra.most_common(5))
    pytest.fail(
        f"{url}: {len(small)} statements with {SMALL} tickets, {len(large)} with {LARGE}; "
        f"repeated per row:\n{repeated}"
    )


def _first_level(n: int):
    """`n` support tickets of institution A, half assigned, some closed, varied requesters."""
    requesters = [user("interno"), user("focal"), user("aiq")]
    focal = user("focal")
    for i in range(n):
        ticket = make_ticket(requesters[i % 3])
        if i % 2:
            services.assign(focal, ticket.id, focal.id)
        if i % 5 == 4:
            services.transition(focal, ticket.id, "resolver", comment="Listo.")


def _second_level(n: int):
    for i in range(n):
        make_ticket(user("focal" if i % 2 else "aiq"), "escalamiento-sge", fields=ESCALATION)


def _grow(kind: str, n: int):
    if kind == "first":
        _first_level(n)
    else:
        _second_level(n)


PAGES = [
    # (who, url, which tickets make its rows)
    ("focal", "/cola/", "first"),
    ("focal", "/cola/?view=all", "first"),
    ("focal", "/cola/?view=mine", "first"),
    ("focal", "/cola/?view=overdue", "first"),
    ("agq", "/cola/", "second"),
    ("interno", "/mis-tickets/", "first"),
    ("focal", "/cola/export/csv/", "first"),
    ("agq", "/cola/export/csv/", "second"),
    ("focal", "/tablero/", "first"),
    ("agq", "/tablero/", "second"),
]


@pytest.mark.parametrize(("who", "url", "kind"), PAGES)
def test_list_page_queries_do_not_grow_with_rows(client, auth, who, url, kind):
    _grow(kind, SMALL)
    auth.login(who)
    small = _statements(client, url)
    _grow(kind, LARGE - SMALL)
    large = _statements(client, url)
    rows = client.get(url).get_data(as_text=True)
    if "/cola/" in url and "export" not in url and "view=" not in url:
        assert rows.count('href="/ticket/') >= 2 * min(LARGE, 25)  # the rows really show
    _assert_constant(small, large, url)


def test_mis_tickets_lists_as_many_rows_as_it_shows(client, auth):
    """A guard on the query-count test itself: the large page really has more rows."""
    _first_level(LARGE)
    auth.login("interno")
    body = client.get("/mis-tickets/").get_data(as_text=True)
    mine = Ticket.select().where(Ticket.requester == user("interno").id).count()
    assert body.count('href="/ticket/') == 2 * min(mine, 25)


def _busy_ticket(n: int, ticket=None):
    """A ticket with `n` more comments (public, internal, by several people) and files."""
    from ticketing.fields import UploadedFile

    ticket = ticket or make_ticket()
    people = [user("interno"), user("focal"), user("aiq")]
    for i in range(n):
        author = people[i % 3]
        services.add_comment(
            author,
            ticket.id,
            f"Comentario {i}",
            internal=bool(i % 3) and author.role != "interno",
            files=[UploadedFile(f"f{i}.txt", "text/plain", f"{i}".encode())] if i % 4 == 0 else (),
        )
    return ticket


@pytest.mark.parametrize("who", ["focal", "interno"])
def test_ticket_page_queries_do_not_grow_with_comments(client, auth, who):
    ticket = _busy_ticket(SMALL)
    _first_level(SMALL)
    auth.login(who)
    url = f"/ticket/{ticket.id}/"
    small = _statements(client, url)
    _busy_ticket(LARGE - SMALL, ticket)
    _first_level(LARGE - SMALL)
    large = _statements(client, url)
    assert client.get(url).get_data(as_text=True).count("Comentario ") >= LARGE // 3
    _assert_constant(small, large, url)


def test_ticket_page_queries_do_not_grow_with_linked_tickets(client, auth):
    parent = make_ticket()
    focal = user("focal")
    services.transition(focal, parent.id, "escalar", comment="A SGE.")
    auth.login("focal")
    url = f"/ticket/{parent.id}/"
    small = _statements(client, url)
    for _ in range(5):  # more children of the same parent, as effects would create
        child = make_ticket(focal, "escalamiento-sge", fields=ESCALATION)
        Ticket.update(parent=parent.id).where(Ticket.id == child.id).execute()
    large = _statements(client, url)
    assert client.get(url).get_data(as_text=True).count("Escalamiento") >= 1
    _assert_constant(small, large, url)
