"""POST /tickets/bulk: one result per row; a ticket out of reach writes nothing."""

from tests.api.conftest import assert_error
from tests.conftest import make_ticket, user
from ticketing.models import Ticket


def test_bulk_assign_me_answers_one_result_per_row(app, api):
    tickets = [make_ticket(user("interno")), make_ticket(user("interno"))]
    ids = [t.id for t in tickets]
    response = api.post("/tickets/bulk", "focal", json={"tickets": ids, "action": "asignarme"})
    assert response.status_code == 200, response.get_json()
    items = response.get_json()["items"]
    assert [i["id"] for i in items] == ids
    assert all(i["done"] and i["refusal"] is None for i in items)
    assert {Ticket.get_by_id(i).assignee_id for i in ids} == {user("focal").id}


def test_bulk_with_a_foreign_ticket_writes_nothing(app, api):
    mine = make_ticket(user("interno"))
    foreign = make_ticket(user("interno_b"))
    body = {"tickets": [mine.id, foreign.id], "action": "asignarme"}
    assert_error(api.post("/tickets/bulk", "focal", json=body), 404)
    assert Ticket.get_by_id(mine.id).assignee_id is None
