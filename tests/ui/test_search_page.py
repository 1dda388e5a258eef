"""Buscar: the menu's search box and its results page, grouped by tickets and articles."""

from tests.conftest import make_ticket, text_of, user
from ticketing import services


def test_menu_search_box_is_on_every_page_for_the_signed_in(app, client, auth):
    auth.login("interno")
    page = client.get("/")
    assert 'data-testid="menu-search"' in page.get_data(as_text=True)
    auth.logout()
    assert 'data-testid="menu-search"' not in client.get("/login").get_data(as_text=True)


def test_results_page_shows_snippets_and_escapes_ticket_text(app, client, auth):
    ticket = make_ticket(user("interno"), title="Firma <script>alert(1)</script> caducada")
    services.add_comment(user("focal"), ticket.id, "Ya se está firmando otra vez")
    auth.login("focal")
    html = client.get("/buscar/?q=firmar").get_data(as_text=True)
    assert f"/ticket/{ticket.id}/" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html
    assert "<mark>" in html
    auth.login("focal_b")
    assert f"/ticket/{ticket.id}/" not in client.get("/buscar/?q=firmar").get_data(as_text=True)


def test_only_common_words_get_a_clear_message(app, client, auth):
    auth.login("focal")
    assert "demasiado comunes" in text_of(client.get("/buscar/?q=de+la"))
    assert client.get("/buscar/?q=x&desde=nope&page=abc").status_code == 200
