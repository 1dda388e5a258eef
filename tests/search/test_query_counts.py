"""A search costs the same statements whether it finds 1 ticket or 30 (or 1 article or 10).

Counted with `ticketing.db.count_queries()` as tests/dashboard/test_query_counts.py does:
the service itself (reading what a result row shows: type, institution, people, snippet),
the API's /search, and the lists whose search box uses it (Cola, Mis tickets). On a
difference the failure names the statements that ran more often.
"""

import pytest

from tests.api.conftest import Api
from tests.conftest import make_ticket, user
from tests.dashboard.test_query_counts import _assert_constant, _statements
from ticketing import search, services
from ticketing.db import count_queries
from ticketing.models import Article, now
from ticketing.outbox import unit_of_work

SMALL, LARGE = 1, 30
WORD = "impresora"
_ESCALATION = {"modulo": "reportes", "descripcion": "La impresora central no responde."}


def _grow(n: int, start: int = 0):
    """`n` tickets of institution A that the word finds, in title, comments and notes;
    some raised by the focal user, some assigned, one of them escalated to SGE."""
    focal = user("focal")
    requesters = [user("interno"), user("interno"), focal]
    for i in range(start, start + n):
        ticket = make_ticket(
            requesters[i % 3],
            title=f"Impresora número {i} sin respuesta",
            fields={"descripcion": "La impresora del piso no imprime."},
        )
        if i % 2:
            services.add_comment(user("aiq"), ticket.id, "Revisar la impresora.", internal=True)
            services.assign(focal, ticket.id, focal.id)
        if i % 3 == 1:
            services.add_comment(user("interno"), ticket.id, "La impresora sigue igual.")
        make_ticket(focal, "escalamiento-sge", title=f"Impresora central {i}", fields=_ESCALATION)


def _service_statements(key: str, q: str, filters=None) -> tuple[list[str], int]:
    """Statements of one search and of reading everything its rows show; and the rows."""
    person = user(key)
    search.search(person, q, filters, per_page=50)  # warm-up
    with count_queries() as statements:
        found = search.search(person, q, filters, per_page=50)
        for hit in found.tickets:
            str(hit.snippet)
            hit.ticket.type.name, hit.ticket.institution.sigla  # noqa: B018 - read, as a row
            hit.ticket.requester.full_name  # noqa: B018
            if hit.ticket.assignee_id:
                hit.ticket.assignee.full_name  # noqa: B018
        for hit in found.articles:
            hit.article.title, str(hit.snippet)  # noqa: B018
    return list(statements), len(found.tickets)


SEARCHES = [
    # (who, query, filters)
    ("focal", WORD, None),
    ("focal", "impresoras -papel", None),
    ("focal", '"impresora del piso"', None),
    ("focal", WORD, {"type": "soporte", "state": "nuevo"}),
    ("interno", WORD, None),
    ("agq", WORD, None),
    ("agq", WORD, {"institution": "A"}),
]


@pytest.mark.parametrize(("who", "q", "filters"), SEARCHES)
def test_a_search_costs_the_same_with_1_or_30_tickets_found(app, who, q, filters):
    if filters and filters.get("institution") == "A":
        filters = dict(filters, institution=user("focal").institution_id)
    _grow(SMALL)
    small, few = _service_statements(who, q, filters)
    _grow(LARGE - SMALL, start=SMALL)
    large, many = _service_statements(who, q, filters)
    assert few >= 1 and many >= few + 9, (few, many)  # the large search really finds more
    _assert_constant(small, large, f"search({who}, {q!r}, {filters})")


def _article(i: int):
    with unit_of_work():
        article = Article.create(
            title=f"Impresora: guía {i}",
            body="Cómo configurar la impresora de red.",
            status="published",
            author=user("agq").id,
            published_at=now(),
        )
        search.index_article(article)


def test_articles_cost_the_same_with_1_or_10_found(app):
    _grow(SMALL)
    _article(0)
    small, _ = _service_statements("interno", WORD)
    for i in range(1, 10):
        _article(i)
    with count_queries() as statements:
        hits = search.search_articles(user("interno"), WORD, limit=10)
        [str(hit.snippet) for hit in hits]
    large, _ = _service_statements("interno", WORD)
    assert len(hits) == 10
    assert len(statements) <= 3, list(statements)
    _assert_constant(small, large, "search(interno, articles)")


def test_the_api_search_costs_the_same_with_1_or_30_found(app, client):
    api = Api(client)

    def statements():
        api.get("/search", key="focal", query_string={"q": WORD})  # warm-up, token made
        with count_queries() as counted:
            response = api.get("/search", key="focal", query_string={"q": WORD})
        assert response.status_code == 200, response.get_data(as_text=True)
        return list(counted), response.get_json()

    _grow(SMALL)
    small, first = statements()
    _grow(LARGE - SMALL, start=SMALL)
    large, second = statements()
    assert len(first["tickets"]) < len(second["tickets"]) == 20 and second["total"] >= LARGE
    _assert_constant(small, large, "/api/v1/search")


@pytest.mark.parametrize(
    ("who", "url"),
    [("focal", f"/cola/?search={WORD}"), ("interno", f"/mis-tickets/?search={WORD}")],
)
def test_a_list_searched_costs_the_same_with_1_or_30_found(client, auth, who, url):
    _grow(SMALL)
    auth.login(who)
    small = _statements(client, url)
    _grow(LARGE - SMALL, start=SMALL)
    large = _statements(client, url)
    assert client.get(url).get_data(as_text=True).count('href="/ticket/') >= 2 * 10
    _assert_constant(small, large, url)
