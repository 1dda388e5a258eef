"""No search lets anyone find what they may not see: not a hit, not a count.

Institution B's ticket carries a word of its own in each place search reads (title, a
field, a public comment, an internal note, an internal note's file). Nobody of
institution A, and not the AGQ (it is a first-level ticket), finds any of them, by word
or by reference, and the totals say 0. Inside B, the requester finds the public words
but never the internal ones, which B's focal user and AIQ do find. Articles follow
`visible_articles`: B's own article is not A's, and A's draft is not A's internal user's.
"""

import re

import pytest

from tests.api.conftest import Api
from tests.conftest import make_ticket, user
from ticketing import search, services
from ticketing.fields import UploadedFile
from ticketing.models import Article, now
from ticketing.outbox import unit_of_work

WORDS = {
    "title": "zafirotitulo",
    "field": "zafirocampo",
    "public comment": "zafirocomentario",
    "internal note": "zafironota",
    "internal file": "zafiroarchivo",
}
PUBLIC = ("title", "field", "public comment")
INTERNAL = ("internal note", "internal file")
OUTSIDERS = ("aiq", "focal", "interno", "agq")


def _b_ticket():
    """B's first-level ticket with every word in place; returns it."""
    ticket = make_ticket(
        user("interno_b"),
        title=f"Falla {WORDS['title']} al abrir",
        fields={"descripcion": f"Texto con {WORDS['field']} dentro."},
    )
    services.add_comment(user("interno_b"), ticket.id, f"Más datos: {WORDS['public comment']}.")
    log = UploadedFile(f"{WORDS['internal file']} bitacora.txt", "text/plain", b"registro\n")
    services.add_comment(
        user("focal_b"), ticket.id, f"Revisar {WORDS['internal note']}.", internal=True, files=[log]
    )
    return ticket


def _found(person, q):
    """(ids of the first page, total, capped, ids of a list's search) for `person`."""
    found = search.search(person, q, articles=0)
    listed = search.matching_ticket_ids(person, q)
    listed = [] if listed is None else sorted(row.id for row in listed)
    return [hit.ticket.id for hit in found.tickets], found.ticket_total, found.ticket_capped, listed


def test_nobody_outside_institution_b_finds_its_words_or_counts_them(app):
    ticket = _b_ticket()
    # the words are there: B's focal user finds each of them (else this test proves nothing)
    for place, word in WORDS.items():
        assert _found(user("focal_b"), word) == ([ticket.id], 1, False, [ticket.id]), place
    queries = [*WORDS.values(), " ".join(WORDS.values()), ticket.reference, str(ticket.id)]
    for key in OUTSIDERS:
        for q in queries:
            assert _found(user(key), q) == ([], 0, False, []), (key, q)
        # nor through the filters that name B or its requester
        agq_filter = {"institution": ticket.institution_id, "requester": ticket.requester_id}
        for q in WORDS.values():
            found = search.search(user(key), q, agq_filter, articles=0)
            assert (found.tickets, found.ticket_total) == ([], 0), (key, q)


def test_the_api_search_counts_nothing_of_institution_b(app, client):
    ticket = _b_ticket()
    api = Api(client)
    for key in OUTSIDERS:
        for q in [*WORDS.values(), ticket.reference]:
            response = api.get("/search", key=key, query_string={"q": q})
            assert response.status_code == 200, response.get_data(as_text=True)
            body = response.get_json()
            assert (body["total"], body["tickets"]) == (0, []), (key, q)
            assert WORDS["title"] not in response.get_data(as_text=True)
    response = api.get("/search", key="focal_b", query_string={"q": WORDS["internal note"]})
    assert [t["id"] for t in response.get_json()["tickets"]] == [ticket.id]


def test_the_lists_searched_show_nothing_of_institution_b(app, client, auth):
    """The Cola and Mis tickets search with the same service: no row, a count of 0."""
    ticket = _b_ticket()
    link = f'href="/ticket/{ticket.id}/"'
    auth.login("focal_b")  # the list shows it where it may be seen
    shown = client.get(f"/cola/?view=all&search={WORDS['internal note']}").get_data(as_text=True)
    assert link in shown
    lists = (
        ("focal", "/cola/?view=all&"),
        ("aiq", "/cola/?view=all&"),
        ("interno", "/mis-tickets/?"),
    )
    for key, url in lists:
        auth.login(key)
        for word in WORDS.values():
            response = client.get(f"{url}search={word}")
            assert response.status_code == 200, (key, word)
            body = response.get_data(as_text=True)
            assert link not in body, (key, word)
            assert re.search(r'data-testid="list-count">\s*0\b', body), (key, word)
            others = [w for w in WORDS.values() if w != word]  # the box echoes its own word
            assert not any(w in body for w in others), (key, word)


def test_the_requester_never_finds_the_internal_words_that_staff_do(app):
    ticket = _b_ticket()
    requester = user("interno_b")
    for place in PUBLIC:
        assert _found(requester, WORDS[place]) == ([ticket.id], 1, False, [ticket.id]), place
    for place in INTERNAL:
        assert _found(requester, WORDS[place]) == ([], 0, False, []), place
        for staff in ("focal_b", "aiq_b"):
            assert _found(user(staff), WORDS[place])[1] == 1, (staff, place)
    # a public word with an internal one: the requester's ticket does not match
    both = f"{WORDS['title']} {WORDS['internal note']}"
    assert _found(requester, both) == ([], 0, False, [])
    # and no snippet the requester reads shows the internal words
    for place in PUBLIC:
        for hit in search.search(requester, WORDS[place], articles=0).tickets:
            snippet = str(hit.snippet).lower()
            assert not any(WORDS[p] in snippet for p in INTERNAL), (place, snippet)


def test_the_agq_finds_what_reaches_sge_and_a_does_not(app):
    escalation = make_ticket(
        user("focal_b"),
        "escalamiento-sge",
        title="Escalamiento zafiroescala",
        fields={"modulo": "reportes", "descripcion": "El reporte no carga."},
    )
    services.add_comment(user("agq"), escalation.id, "Nota zafiroanalisis.", internal=True)
    for word in ("zafiroescala", "zafiroanalisis"):
        assert _found(user("agq"), word) == ([escalation.id], 1, False, [escalation.id]), word
        for key in ("aiq", "focal", "interno"):
            assert _found(user(key), word) == ([], 0, False, []), (key, word)


def _article(word, *, institution, status, author):
    with unit_of_work():
        article = Article.create(
            title=f"Guía {word}",
            body=f"Cómo resolver {word} paso a paso.",
            tags=["guía"],
            category="Procedimientos",
            language="es",
            institution=institution,
            status=status,
            author=author.id,
            published_at=now() if status == "published" else None,
        )
        search.index_article(article)
    return article


def _articles(person, q) -> list[int]:
    via_search = [hit.article.id for hit in search.search(person, q).articles]
    direct = [hit.article.id for hit in search.search_articles(person, q)]
    assert via_search == direct, (person.email, q)
    return direct


@pytest.mark.parametrize("reader", ["aiq", "focal", "interno"])
def test_articles_of_institution_b_are_not_found_by_a(app, reader):
    b_own = _article(
        "zafiroarticulo",
        institution=user("focal_b").institution_id,
        status="published",
        author=user("focal_b"),
    )
    assert _articles(user("interno_b"), "zafiroarticulo") == [b_own.id]  # found where it may be
    assert _articles(user(reader), "zafiroarticulo") == []


def test_a_draft_is_found_by_its_writers_not_by_the_institutions_internal_users(app):
    draft = _article(
        "zafiroborrador",
        institution=user("focal").institution_id,
        status="draft",
        author=user("focal"),
    )
    assert _articles(user("focal"), "zafiroborrador") == [draft.id]
    assert _articles(user("aiq"), "zafiroborrador") == [draft.id]
    assert _articles(user("interno"), "zafiroborrador") == []
    assert _articles(user("interno_b"), "zafiroborrador") == []
    assert _articles(user("focal_b"), "zafiroborrador") == []
