"""Every query of the shared corpus finds exactly its set, on SQLite and on PostgreSQL.

The `app` fixture runs each test once per database, so one table of expectations
(`tests.search.corpus.CASES`) holds both backends to the same answers: accents and case,
Spanish stems, phrases, exclusions, references, comments and notes, file names, filters.
The corpus is built once per test (it takes a few hundred service calls), and a failure
lists every case that found something else, not just the first.
"""

import re

import pytest
from markupsafe import Markup

from tests.conftest import make_ticket, user
from tests.search import corpus
from ticketing import search


@pytest.fixture
def built(app):
    """The corpus on the fixture's database: {key: id}, and {id: key} per kind."""
    ids = corpus.build()
    ticket_keys = {doc.key for doc in corpus.TICKETS}
    tickets = {ids[k]: k for k in ticket_keys}
    articles = {ids[a.key]: a.key for a in corpus.ARTICLES}
    return ids, tickets, articles


def _named(found_ids, names) -> set[str]:
    return {names.get(i, f"not in the corpus: id {i}") for i in found_ids}


def _tickets(c: corpus.Case, ids, names) -> list[str]:
    actor, q = user(c.actor), corpus.query_of(c, ids)
    found = search.search(actor, q, corpus.filters_of(c), per_page=50, articles=0)
    out = []
    got = _named((hit.ticket.id for hit in found.tickets), names)
    if got != c.tickets:
        out.append(f"tickets {sorted(got)} != {sorted(c.tickets)}")
    if found.ticket_total != len(c.tickets) or found.ticket_capped:
        out.append(f"total {found.ticket_total} (capped {found.ticket_capped}) != {len(c.tickets)}")
    if found.problem is not None:
        out.append(f"problem {found.problem!r}")
    return out


def _listed(c: corpus.Case, ids, names) -> list[str]:
    """A list's search (the Cola, the API's ?q=) takes no filters: unfiltered cases only."""
    listed = search.matching_ticket_ids(user(c.actor), corpus.query_of(c, ids))
    got = _named(set() if listed is None else {row.id for row in listed}, names)
    return [] if got == c.tickets else [f"matching_ticket_ids {sorted(got)} != {sorted(c.tickets)}"]


def _articles(c: corpus.Case, ids, names) -> list[str]:
    """Which corpus articles are found (the seeded articles may be found beside them).

    Filters are about tickets: what articles a filtered search shows is not asserted."""
    actor, q = user(c.actor), corpus.query_of(c, ids)
    out = []
    found = search.search(actor, q, articles=50).articles
    got = {names[hit.article.id] for hit in found if hit.article.id in names}
    if got != c.articles:
        out.append(f"search().articles {sorted(got)} != {sorted(c.articles)}")
    found = search.search_articles(actor, q, limit=50)
    got = {names[hit.article.id] for hit in found if hit.article.id in names}
    if got != c.articles:
        out.append(f"search_articles {sorted(got)} != {sorted(c.articles)}")
    return out


def _outcome(check, c: corpus.Case, *args) -> list[str]:
    """The check's problems; an exception is one more (so the other checks still report)."""
    try:
        return check(c, *args)
    except Exception as exc:  # noqa: BLE001 - reported with the case, then the test fails
        return [f"{check.__name__[1:]} raised {type(exc).__name__}: {exc}"]


def test_every_query_finds_exactly_its_corpus_set(app, built):
    ids, ticket_names, article_names = built
    failures = []
    for c in corpus.CASES:
        problems = _outcome(_tickets, c, ids, ticket_names)
        if not c.filters:
            problems += _outcome(_listed, c, ids, ticket_names)
            problems += _outcome(_articles, c, ids, article_names)
        for problem in problems:
            why = f" ({c.why})" if c.why else ""
            failures.append(f"{c.id}{why}: {problem}")
    assert not failures, f"{app.config['DB_KIND']}: {len(failures)} failed\n" + "\n".join(failures)


def test_the_table_covers_what_the_issue_asks():
    """A guard on the table itself: each promised behaviour has at least one case."""
    queries = [c.query for c in corpus.CASES]
    assert {"canción", "cancion", "CANCIÓN"} <= set(queries)
    assert {"firmar", "firmando", "firmé"} <= set(queries)
    assert any(q.startswith('"') for q in queries) and any(" -" in q for q in queries)
    assert any(q.startswith("MESA-{") for q in queries)
    used = {k for c in corpus.CASES for k in c.filters}
    assert used == {"type", "state", "requester", "desde", "hasta", "institution"}
    assert any(c.actor == "agq" and "institution" in c.filters for c in corpus.CASES)
    empty = [c for c in corpus.CASES if not c.tickets and not c.articles]
    assert empty, "some query must find nothing"


@pytest.mark.parametrize("q", corpus.NO_WORD)
def test_a_query_without_a_searchable_word_finds_nothing_and_says_why(app, q):
    make_ticket(user("interno"), title="De la bandeja de entrada")
    found = search.search(user("focal"), q)
    assert found.problem, q
    assert found.tickets == [] and found.ticket_total == 0 and found.articles == []
    assert search.matching_ticket_ids(user("focal"), q) is None
    assert search.search_articles(user("focal"), q) == []


def test_snippets_mark_the_hit_and_escape_the_ticket_text(app):
    make_ticket(
        user("interno"),
        title="Escáner <script>alert('x')</script> bloqueado",
        fields={"descripcion": "El escáner <b>no</b> responde & se reinicia."},
    )
    found = search.search(user("focal"), "escaner")
    assert [hit.ticket.title for hit in found.tickets] == [
        "Escáner <script>alert('x')</script> bloqueado"
    ]
    snippet = found.tickets[0].snippet
    assert isinstance(snippet, Markup)
    html = str(snippet)
    assert re.search(r"<mark>esc[aá]ner</mark>", html, re.IGNORECASE), html
    assert "<script" not in html and "<b>" not in html, html
    # shown as written, escaped: neither run as markup nor silently dropped
    assert "&lt;script&gt;alert(" in html, html
    # the only tags left are the marks
    assert set(re.findall(r"</?([a-z]+)", html)) == {"mark"}, html


def test_article_snippets_mark_the_hit(app, built):
    ids = built[0]
    hits = search.search_articles(user("interno"), "contraseñas", limit=50)
    ours = [hit for hit in hits if hit.article.id == ids["art_contrasena"]]
    assert len(ours) == 1, [hit.article.title for hit in hits]
    html = str(ours[0].snippet)
    assert isinstance(ours[0].snippet, Markup)
    assert re.search(r"<mark>contraseña</mark>", html, re.IGNORECASE), html
    assert set(re.findall(r"</?([a-z]+)", html)) == {"mark"}, html


def test_a_better_match_ranks_first(app):
    """The word in the title (weighted) and repeated beats a passing mention."""
    passing = make_ticket(
        user("interno"),
        title="Pantalla en blanco",
        fields={"descripcion": "Al abrir la ventana de la plantilla queda en blanco."},
    )
    strong = make_ticket(
        user("interno"),
        title="Plantilla de oficio dañada",
        fields={"descripcion": "La plantilla no carga; otra plantilla tampoco."},
    )
    found = search.search(user("focal"), "plantilla")
    assert [hit.ticket.id for hit in found.tickets] == [strong.id, passing.id]
    assert found.tickets[0].rank > found.tickets[1].rank
