"""Bulk actions on Cola: assign to me / to someone / a transition, each row through its own
service call with its refusal reported, all inside the visibility query."""

import re

import pytest

from tests.conftest import make_ticket, text_of, user
from ticketing import services
from ticketing.errors import NotFound, ValidationFailed
from ticketing.models import Ticket, TicketEvent


def _tickets(n=3, who="interno"):
    return [make_ticket(user(who)).id for _ in range(n)]


def test_assign_to_me_each_row_with_its_history(app):
    ids = _tickets()
    results = services.bulk_action(user("focal"), ids, "asignarme")
    assert [r.done for r in results] == [True, True, True]
    assert {Ticket.get_by_id(i).assignee_id for i in ids} == {user("focal").id}
    assigned = TicketEvent.select().where(
        TicketEvent.ticket.in_(ids) & (TicketEvent.kind == "assigned")
    )
    assert assigned.count() == 3


def test_a_transition_refused_on_one_row_leaves_the_others_done(app):
    ids = _tickets()
    services.transition(user("focal"), ids[1], "atender")  # no longer "nuevo"
    results = services.bulk_action(user("focal"), ids, "transicion", transition_name="atender")
    assert [r.done for r in results] == [True, False, True]
    assert results[1].refusal and results[1].reference == f"MESA-{ids[1]}"
    assert {Ticket.get_by_id(i).state for i in ids} == {"en_atencion"}


def test_a_guard_is_checked_per_row(app):
    ids = _tickets(2)
    results = services.bulk_action(user("focal"), ids, "transicion", transition_name="resolver")
    assert not any(r.done for r in results)  # "resolver" needs a comment
    results = services.bulk_action(
        user("focal"), ids, "transicion", transition_name="resolver", comment="Resuelto."
    )
    assert all(r.done for r in results)


@pytest.mark.parametrize("who", ["focal", "aiq", "agq"])
def test_another_institutions_id_refuses_the_whole_request(app, who):
    own = _tickets(2)
    other = make_ticket(user("interno_b")).id
    ids = own + [other] if who != "agq" else own  # A's first-level tickets are not the AGQ's
    before = [(t.id, t.version, t.assignee_id) for t in Ticket.select().order_by(Ticket.id)]
    with pytest.raises(NotFound):
        services.bulk_action(user(who), ids, "asignarme")
    assert [(t.id, t.version, t.assignee_id) for t in Ticket.select().order_by(Ticket.id)] == before


@pytest.mark.parametrize(
    "ids, action, extra",
    [
        ([], "asignarme", {}),
        (["abc"], "asignarme", {}),
        (["1" * 30], "asignarme", {}),
        (None, "borrar", {}),
        (None, "asignar", {}),
        (None, "transicion", {}),
        (None, "asignar", {"assignee_id": "999999"}),
    ],
)
def test_bad_input_is_refused_with_a_message(app, ids, action, extra):
    ids = _tickets(1) if ids is None else ids
    try:
        results = services.bulk_action(user("focal"), ids, action, **extra)
    except (ValidationFailed, NotFound) as exc:
        assert exc.message
    else:  # a person who does not work the queue: refused on the row
        assert results and not any(r.done for r in results)


def test_the_interno_cannot_post_a_bulk_action(client, auth, app):
    ids = _tickets(1)
    auth.login("interno")
    response = client.post("/cola/lote", data={"rowid": ids, "accion": "asignarme"})
    assert response.status_code == 404
    assert Ticket.get_by_id(ids[0]).assignee_id is None


def test_the_queue_page_selects_rows_and_reports_each(client, auth, app):
    ids = _tickets(3)
    services.transition(user("focal"), ids[2], "atender")
    auth.login("focal")
    page = text_of(client.get("/cola/"))
    assert page.count('form="bulk-form"') >= 3
    assert re.search(r'<option value="transicion:atender">', page)
    # "Asignar a…" offers the queue's agents only: not the requester, not B's people
    assignees = re.search(r'<select[^>]*id="bulk-assignee".*?</select>', page).group(0)
    assert f'<option value="{user("aiq").id}">AIQ INSTA</option>' in assignees
    assert f'<option value="{user("interno").id}">' not in assignees
    assert "INSTB" not in assignees
    response = client.post(
        "/cola/lote",
        data={"rowid": ids, "accion": "transicion:atender", "url": "/cola/?view=mine"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/cola/?view=mine")
    page = text_of(client.get("/cola/"))
    assert f"Hecho en 2 ticket(s): MESA-{ids[0]}, MESA-{ids[1]}." in page
    assert f"MESA-{ids[2]} no se cambió" in page
    # an outside return address is not followed
    response = client.post(
        "/cola/lote", data={"rowid": ids[:1], "accion": "asignarme", "url": "https://evil.test/"}
    )
    assert response.headers["Location"].endswith("/cola/")


def test_mis_tickets_has_no_bulk_form_but_shows_assignee_and_due(client, auth, app):
    make_ticket(user("focal"))
    auth.login("focal")
    page = text_of(client.get("/mis-tickets/"))
    assert "bulk-form" not in page
    assert "Asignado a" in page and "Vence" in page
