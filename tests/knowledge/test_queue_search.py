"""The Cola's and Mis tickets' search box: full-text search (stems, accents, references),
within what the list already shows, at the same number of statements whatever it finds."""

import re

from tests.conftest import make_ticket, text_of, user
from tests.dashboard.test_query_counts import _assert_constant, _statements
from ticketing import services


def _ticket(title, requester=None):
    """A support ticket whose only words are its title's (and "Detalle")."""
    return make_ticket(requester, title=title, fields={"descripcion": "Detalle."})


def _refs(response) -> set[int]:
    return {
        int(i)
        for i in re.findall(r'<a href="/ticket/(\d+)/">MESA-', response.get_data(as_text=True))
    }


def test_the_queue_finds_words_by_their_stem_and_without_accents(client, auth):
    signing = _ticket("No puedo firmar el oficio")
    song = _ticket("La canción del sistema")
    other = _ticket("Impresora sin tóner")
    auth.login("focal")
    assert _refs(client.get("/cola/?view=all&search=firmando")) == {signing.id}
    assert _refs(client.get("/cola/?view=all&search=CANCION")) == {song.id}
    found = client.get("/cola/?view=all&search=toner")
    assert _refs(found) == {other.id}
    assert 'data-testid="list-count">1 resultado<' in found.get_data(as_text=True)
    assert _refs(client.get(f"/cola/?view=all&search=MESA-{song.id}")) == {song.id}
    assert _refs(client.get(f"/cola/?view=all&search={song.id}")) == {song.id}


def test_the_search_reads_comments_and_keeps_the_lists_view(client, auth):
    ticket = _ticket("Consulta general")
    services.add_comment(user("focal"), ticket.id, "Se reinstaló el certificado.")
    closed = _ticket("Otra consulta")
    services.add_comment(user("focal"), closed.id, "El certificado venció.")
    services.transition(user("focal"), closed.id, "resolver", comment="Renovado.")
    auth.login("focal")
    assert _refs(client.get("/cola/?search=certificado")) == {ticket.id}  # open only
    assert _refs(client.get("/cola/?view=all&search=certificado")) == {ticket.id, closed.id}


def test_a_search_with_no_word_finds_nothing_and_says_why(client, auth):
    _ticket("De la bandeja")
    auth.login("focal")
    response = client.get("/cola/?view=all&search=de la")
    assert _refs(response) == set()
    assert "Escriba al menos una palabra para buscar." in text_of(response)
    nothing = client.get("/cola/?view=all&search=inexistentísimo")
    assert "Ningún ticket de esta vista coincide con la búsqueda." in text_of(nothing)


def test_the_search_never_reaches_past_what_the_person_may_see(client, auth):
    theirs = _ticket("Firma rechazada en B", user("interno_b"))
    mine = _ticket("Firma rechazada en A")
    services.add_comment(user("focal"), mine.id, "cortafuegos del ministerio", internal=True)
    auth.login("focal")
    assert _refs(client.get("/cola/?view=all&search=firma")) == {mine.id}
    assert _refs(client.get(f"/cola/?view=all&search=MESA-{theirs.id}")) == set()
    assert _refs(client.get("/cola/?view=all&search=cortafuegos")) == {mine.id}  # staff
    # the requester searches their own tickets, never the internal note's words
    auth.login("interno")
    assert _refs(client.get("/mis-tickets/?search=firma")) == {mine.id}
    assert _refs(client.get("/mis-tickets/?search=cortafuegos")) == set()


def test_a_searched_queue_costs_the_same_statements_with_more_matches(client, auth):
    for i in range(3):
        _ticket(f"Firma número {i}")
    auth.login("focal")
    url = "/cola/?view=all&search=firma"
    small = _statements(client, url)
    for i in range(30):
        _ticket(f"Firma adicional {i}")
    large = _statements(client, url)
    assert len(_refs(client.get(url))) == 25  # a full page really shows
    _assert_constant(small, large, url)
