"""Avisos over HTTP: the bell on every page for one query, the list, opening a notice,
another person's notice (404, still unread), marking all read, mail preferences."""

import re

from tests.conftest import make_ticket, text_of, user
from ticketing import services
from ticketing.db import count_queries
from ticketing.models import Notice, NoticePreference


def _ticket_with_comments(n=1):
    ticket = make_ticket(user("interno"), title="Impresora sin red")
    for i in range(n):
        services.add_comment(user("focal"), ticket.id, f"Respuesta {i}")
    return ticket


def test_the_bell_shows_the_unread_count_on_every_page(client, auth):
    ticket = _ticket_with_comments(3)
    auth.login("interno")
    for url in ("/", "/mis-tickets/", f"/ticket/{ticket.id}/", "/avisos/"):
        page = text_of(client.get(url))
        assert 'data-testid="bell"' in page, url
        assert "Avisos, 3 sin leer" in page, url
        assert re.search(r'data-testid="bell-count">\s*3\s*<', page), url
    auth.login("aiq")  # the other recipient's own count
    assert "Avisos, 4 sin leer" in text_of(client.get("/"))  # the opening, and 3 comments
    auth.login("agq")
    page = text_of(client.get("/"))
    assert "Avisos, ninguno sin leer" in page and 'data-testid="bell-count"' not in page


def test_the_bell_costs_one_query_per_page(client, auth):
    ticket = _ticket_with_comments(2)
    auth.login("interno")
    for url in ("/", f"/ticket/{ticket.id}/", "/mis-tickets/"):
        client.get(url)  # warm-up
        with count_queries() as statements:
            assert client.get(url).status_code == 200
        on_notices = [sql for sql in statements if '"notice"' in sql]
        assert len(on_notices) == 1, (url, on_notices)


def test_the_list_shows_what_happened_on_which_ticket_by_whom_newest_first(client, auth):
    ticket = _ticket_with_comments(2)
    services.transition(user("focal"), ticket.id, "resolver", comment="Cambiamos el cable.")
    auth.login("interno")
    page = text_of(client.get("/avisos/"))
    rows = re.findall(r'data-testid="notice-(\d+)" data-unread="(\w+)"', page)
    assert [unread for _id, unread in rows] == ["true"] * 3
    assert [int(i) for i, _u in rows] == sorted((int(i) for i, _u in rows), reverse=True)
    assert page.index("Cambio de estado") < page.index("Respuesta 1") < page.index("Respuesta 0")
    assert f"{ticket.reference} · Impresora sin red" in page
    assert "Resolver — Cambiamos el cable." in page
    assert "Por FOCAL INSTA" in page
    assert page.count("Sin leer") == 3


def test_opening_a_notice_marks_it_read_and_goes_to_its_ticket(client, auth):
    ticket = _ticket_with_comments(2)
    interno = auth.login("interno")
    notice = Notice.select().where(Notice.user == interno.id).order_by(Notice.id.desc()).first()
    response = client.get(f"/avisos/{notice.id}/abrir")
    assert response.status_code == 302
    assert response.location.endswith(f"/ticket/{ticket.id}/")
    assert Notice.get_by_id(notice.id).read_at is not None
    page = text_of(client.get("/avisos/"))
    assert f'data-testid="notice-{notice.id}" data-unread="false"' in page
    assert "Avisos, 1 sin leer" in page


def test_another_persons_notice_is_not_found_and_stays_unread(client, auth):
    _ticket_with_comments(1)
    theirs = Notice.get(Notice.user == user("interno").id)
    for who in ("aiq", "focal", "interno_b", "agq"):
        auth.login(who)
        assert client.get(f"/avisos/{theirs.id}/abrir").status_code == 404, who
        assert f"notice-{theirs.id}" not in client.get("/avisos/").get_data(as_text=True)
    for wrong in ("0", "99999999999", "2147483648"):
        assert client.get(f"/avisos/{wrong}/abrir").status_code == 404
    assert Notice.get_by_id(theirs.id).read_at is None


def test_mark_all_read_leaves_a_notice_that_arrived_after_the_page(client, auth):
    ticket = _ticket_with_comments(2)
    interno = auth.login("interno")
    page = client.get("/avisos/").get_data(as_text=True)
    newest = re.search(r'name="hasta" value="(\d+)"', page).group(1)
    services.add_comment(user("focal"), ticket.id, "Llegó mientras leía")
    response = client.post("/avisos/leidos", data={"hasta": newest}, follow_redirects=True)
    page = text_of(response)
    assert "Avisos marcados como leídos: 2." in page
    assert "Avisos, 1 sin leer" in page
    assert (
        Notice.select().where((Notice.user == interno.id) & Notice.read_at.is_null()).count() == 1
    )
    client.post("/avisos/leidos", data={})
    assert services.unread_count(interno) == 0
    assert services.unread_count(user("aiq")) == 4  # only one's own: opening, 3 comments


def test_the_list_pages_to_older_notices(client, auth):
    _ticket_with_comments(30)
    auth.login("interno")
    page = client.get("/avisos/").get_data(as_text=True)
    assert page.count('data-testid="notice-') == 25
    older = re.search(r'href="(/avisos/\?antes=\d+)"', page).group(1)
    rest = client.get(older).get_data(as_text=True)
    assert rest.count('data-testid="notice-') == 5
    assert "Respuesta 0" in rest and "Respuesta 29" not in rest
    assert 'name="hasta"' not in rest  # "mark all" is offered from the newest page only
    for wrong in ("x", "-3", "99999999999"):  # not a notice id: the newest page
        assert client.get(f"/avisos/?antes={wrong}").get_data(as_text=True).count("notice-") == 25


def test_preferences_page_turns_a_mail_off_and_refuses_unknown_events(client, auth):
    interno = auth.login("interno")
    page = client.get("/avisos/preferencias").get_data(as_text=True)
    boxes = re.findall(r'<input class="form-check-input" type="checkbox" id="([^"]+)"', page)
    assert "correo-comment_public" in boxes and "correo-mention" not in boxes  # staff only
    assert '<label class="form-check-label" for="correo-comment_public">Comentario nuevo' in (page)
    assert page.count(" checked") == len(boxes)
    keep = [b.removeprefix("correo-") for b in boxes if b != "correo-comment_public"]
    response = client.post("/avisos/preferencias", data={"correo": keep}, follow_redirects=True)
    assert "Preferencias guardadas." in text_of(response)
    assert [(p.event, p.mail) for p in NoticePreference.select()] == [("comment_public", False)]
    page = client.get("/avisos/preferencias").get_data(as_text=True)
    assert 'id="correo-comment_public" name="correo" value="comment_public">' in page

    refused = client.post("/avisos/preferencias", data={"correo": keep + ["password_reset"]})
    assert refused.status_code == 422
    assert "No se reconoce el tipo de aviso." in text_of(refused)
    assert [(p.event, p.mail) for p in NoticePreference.select()] == [("comment_public", False)]
    assert services.preferences(interno)[0][2] is True


def test_a_notice_whose_ticket_is_out_of_reach_returns_to_the_list(client, auth):
    ticket = _ticket_with_comments(0)
    services.add_comment(user("interno"), ticket.id, "Sigue igual")
    focal = user("focal")
    notice = Notice.get((Notice.user == focal.id) & (Notice.event == "comment_public"))
    from ticketing.models import User

    User.update(institution=user("focal_b").institution_id).where(User.id == focal.id).execute()
    auth.login("focal")
    response = client.get(f"/avisos/{notice.id}/abrir", follow_redirects=True)
    assert "El ticket de ese aviso ya no está a su alcance." in text_of(response)
    assert response.request.path == "/avisos/"


def test_signed_out_people_are_sent_to_sign_in(client):
    for url in ("/avisos/", "/avisos/preferencias", "/avisos/1/abrir"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.location
    assert 'data-testid="bell"' not in client.get("/login").get_data(as_text=True)
