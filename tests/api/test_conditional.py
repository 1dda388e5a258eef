"""ETag on ticket reads, If-Match on ticket writes (the body's `version` keeps working)."""

from tests.api.conftest import assert_error
from tests.conftest import make_ticket
from ticketing.models import Ticket


def test_a_ticket_read_carries_its_version_as_a_weak_etag(app, api):
    ticket = make_ticket()
    response = api.get(f"/tickets/{ticket.id}", "focal")
    assert response.headers["ETag"] == f'W/"{response.get_json()["version"]}"'


def test_if_match_with_the_etag_read_changes_and_answers_the_new_etag(app, api):
    ticket = make_ticket()
    read = api.get(f"/tickets/{ticket.id}", "focal")
    changed = api.patch(
        f"/tickets/{ticket.id}",
        "focal",
        json={"title": "Con If-Match"},
        headers={"If-Match": read.headers["ETag"]},
    )
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert changed.get_json()["title"] == "Con If-Match"
    assert changed.headers["ETag"] == f'W/"{Ticket.get_by_id(ticket.id).version}"'
    assert changed.headers["ETag"] != read.headers["ETag"]


def test_a_stale_if_match_is_a_412_and_changes_nothing(app, api):
    ticket = make_ticket()
    stale = api.get(f"/tickets/{ticket.id}", "focal").headers["ETag"]
    api.patch(
        f"/tickets/{ticket.id}", "focal", json={"title": "Primero", "version": ticket.version}
    )
    version = Ticket.get_by_id(ticket.id).version
    for method, path, body in [
        ("PATCH", "", {"title": "Tarde"}),
        ("POST", "/transitions", {"name": "atender"}),
        ("PUT", "/assignee", {"assignee": None}),
        ("POST", "/comments", {"body": "tarde"}),
        ("POST", "/checklist/reprodujo", {"done": True}),
        ("POST", "/checklist", {"items": [{"item": "reprodujo", "done": True}]}),
    ]:
        response = api.call(
            method, f"/tickets/{ticket.id}{path}", "focal", json=body, headers={"If-Match": stale}
        )
        assert_error(response, 412, "precondition_failed")
    assert Ticket.get_by_id(ticket.id).version == version
    assert Ticket.get_by_id(ticket.id).title == "Primero"


def test_without_if_match_the_body_version_still_decides(app, api):
    ticket = make_ticket()
    ok = api.patch(f"/tickets/{ticket.id}", "focal", json={"title": "A", "version": ticket.version})
    assert ok.status_code == 200
    stale = api.patch(
        f"/tickets/{ticket.id}", "focal", json={"title": "B", "version": ticket.version}
    )
    assert_error(stale, 409, "stale_version")
    # with neither, the edit is refused rather than applied blind
    assert_error(api.patch(f"/tickets/{ticket.id}", "focal", json={"title": "C"}), 400)


def test_if_match_star_and_lists_and_garbage(app, api):
    ticket = make_ticket()
    current = Ticket.get_by_id(ticket.id).version
    star = api.post(
        f"/tickets/{ticket.id}/comments", "focal", json={"body": "a"}, headers={"If-Match": "*"}
    )
    assert star.status_code == 201
    edited = api.patch(
        f"/tickets/{ticket.id}", "focal", json={"title": "Z"}, headers={"If-Match": "*"}
    )
    assert edited.status_code == 200 and edited.get_json()["title"] == "Z"
    current = edited.get_json()["version"]
    listed = api.post(
        f"/tickets/{ticket.id}/comments",
        "focal",
        json={"body": "b"},
        headers={"If-Match": f'W/"999", "{current}"'},
    )
    assert listed.status_code == 201
    garbage = api.post(
        f"/tickets/{ticket.id}/comments", "focal", json={"body": "c"}, headers={"If-Match": "7"}
    )
    assert_error(garbage, 400, "bad_request")
