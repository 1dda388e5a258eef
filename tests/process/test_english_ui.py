"""The seed's English reaches an English-speaking user: types, descriptions, help, choices, history."""

import html
import re

from flask import g

from tests.conftest import make_ticket, text_of
from ticketing import services


def _get(client, url):
    # the app fixture keeps one app context, so g (with the cached locale) must be emptied
    for key in list(g):
        g.pop(key)
    return client.get(url)


def _in_english(client, auth, role):
    account = auth.login(role)
    for key in list(g):
        g.pop(key)
    assert client.post("/locale/en").status_code == 302
    return account


def test_the_new_ticket_pages_speak_english(app, client, auth):
    _in_english(client, auth, "interno")
    menu = text_of(_get(client, "/nuevo/"))
    assert "First-level support" in menu
    assert "A problem or question about Quipux from someone at the institution." in menu
    assert "Un problema o consulta" not in menu

    form = html.unescape(text_of(_get(client, "/nuevo/soporte/")))
    assert "What you were trying to do, what happened and since when." in form
    assert "Qué intentaba hacer" not in form
    for label in ("Incident", "Question", "Inbox", "Electronic signature"):
        assert f">{label}</option>" in form, label
    assert ">Incidente</option>" not in form


def test_the_queue_and_the_ticket_page_speak_english(app, client, auth):
    ticket = make_ticket(fields={"categoria": "consulta", "modulo": "firma_electronica"})
    focal = _in_english(client, auth, "focal")
    services.transition(focal, ticket.id, "atender")

    queue = text_of(_get(client, "/cola/"))
    assert ">First-level support</option>" in queue
    assert ">Escalation to SGE</option>" in queue
    assert ">Soporte de primer nivel</option>" not in queue

    page = html.unescape(text_of(_get(client, f"/ticket/{ticket.id}/")))
    # the canned replies offered are texts people wrote (SGE's seed is in Spanish, filled
    # in the requester's language): content, not the UI, so they are left out here
    page = re.sub(r"<div class=\"form-group\" data-canned-replies.*?</script>", "", page)
    assert "Take: New → In progress" in page  # the history line
    assert "Atender: Nuevo" not in page
    assert "Question" in page and "Electronic signature" in page  # the chosen values
    assert "Firma electrónica" not in page

    # and in Spanish, the Spanish
    for key in list(g):
        g.pop(key)
    client.post("/locale/es")
    page = html.unescape(text_of(_get(client, f"/ticket/{ticket.id}/")))
    assert "Atender: Nuevo → En atención" in page and "Firma electrónica" in page
