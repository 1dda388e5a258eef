"""A token never shows one institution's people another institution's tickets, by any path."""

import io

from tests.api.conftest import assert_error
from tests.conftest import make_ticket, user
from ticketing import services
from ticketing.fields import UploadedFile
from ticketing.models import Attachment, Comment, Institution, Ticket, TicketEvent

MARKER = "MARCA-B-7f3a"


def _b_world():
    """Institution B's ticket with a file field, a comment with a file and an internal note."""
    ticket = make_ticket(
        user("interno_b"),
        title=f"{MARKER} título",
        fields={"adjunto": UploadedFile("b.txt", "text/plain", f"{MARKER} archivo".encode())},
    )
    services.add_comment(
        user("focal_b"),
        ticket.id,
        f"{MARKER} comentario",
        files=[UploadedFile("c.txt", "text/plain", b"c")],
    )
    services.add_comment(
        user("focal_b"),
        ticket.id,
        f"{MARKER} nota",
        internal=True,
        files=[UploadedFile("n.txt", "text/plain", f"{MARKER} nota".encode())],
    )
    return Ticket.get_by_id(ticket.id)


def _state(ticket_id):
    ticket = Ticket.get_by_id(ticket_id)
    return (
        ticket.version,
        ticket.state,
        ticket.fields,
        ticket.checklist,
        ticket.assignee_id,
        Comment.select().where(Comment.ticket == ticket_id).count(),
        TicketEvent.select().where(TicketEvent.ticket == ticket_id).count(),
        Attachment.select().where(Attachment.ticket == ticket_id).count(),
    )


def test_every_endpoint_refuses_another_institutions_ticket(app, api):
    theirs = _b_world()
    b = Institution.get(Institution.sigla == "INSTB")
    attachments = [a.id for a in Attachment.select().where(Attachment.ticket == theirs.id)]
    mine = make_ticket(user("interno"))
    before = _state(theirs.id)

    for key in ("interno", "focal", "aiq"):
        probes = [
            api.get(f"/tickets/{theirs.id}", key),
            api.patch(f"/tickets/{theirs.id}", key, json={"version": theirs.version}),
            api.post(f"/tickets/{theirs.id}/checklist/reprodujo", key, json={"done": True}),
            api.post(f"/tickets/{theirs.id}/transitions", key, json={"name": "atender"}),
            api.post(f"/tickets/{theirs.id}/comments", key, json={"body": "hola"}),
            api.post(
                f"/tickets/{theirs.id}/comments",
                key,
                data={"body": "x", "files": [(io.BytesIO(b"x"), "x.txt")]},
                content_type="multipart/form-data",
            ),
            api.put(f"/tickets/{theirs.id}/assignee", key, json={"assignee": None}),
            api.get(f"/institutions/{b.id}", key),
        ]
        # B's files, asked for under B's ticket and smuggled under a ticket A can see
        for attachment_id in attachments:
            probes.append(api.get(f"/tickets/{theirs.id}/attachments/{attachment_id}", key))
            probes.append(api.get(f"/tickets/{mine.id}/attachments/{attachment_id}", key))
        for response in probes:
            assert_error(response, 404, "not_found")
            assert MARKER not in response.get_data(as_text=True)

        listed = api.get("/tickets", key).get_json()["items"]
        assert theirs.id not in {t["id"] for t in listed}
        for query in (f"institution={b.id}", "queue=1", "type=soporte", "state=nuevo"):
            page = api.get(f"/tickets?{query}", key).get_json()
            assert theirs.id not in {t["id"] for t in page["items"]}, (key, query)
        assert api.get(f"/tickets?institution={b.id}", key).get_json() == {
            "items": [],
            "next_cursor": None,
        }
        types = api.get("/ticket-types", key).get_data(as_text=True)
        assert "INTERNO_B" not in types and "FOCAL_B" not in types  # person choices
    assert _state(theirs.id) == before


def test_the_requesters_colleague_gets_nothing_of_the_ticket(app, api):
    """Another internal user of B, same institution as the requester: still 404 everywhere."""
    from tests.test_visibility_matrix import second_internal_user_of_b

    theirs = _b_world()
    second_internal_user_of_b()
    attachments = [a.id for a in Attachment.select().where(Attachment.ticket == theirs.id)]
    mine = make_ticket(user("interno2_b"), title="Del colega")
    before = _state(theirs.id)
    key = "interno2_b"
    probes = [
        api.get(f"/tickets/{theirs.id}", key),
        api.patch(f"/tickets/{theirs.id}", key, json={"version": theirs.version}),
        api.post(f"/tickets/{theirs.id}/checklist/reprodujo", key, json={"done": True}),
        api.post(f"/tickets/{theirs.id}/transitions", key, json={"name": "cancelar"}),
        api.post(f"/tickets/{theirs.id}/comments", key, json={"body": "hola"}),
        api.put(f"/tickets/{theirs.id}/assignee", key, json={"assignee": None}),
    ]
    for attachment_id in attachments:
        probes.append(api.get(f"/tickets/{theirs.id}/attachments/{attachment_id}", key))
        probes.append(api.get(f"/tickets/{mine.id}/attachments/{attachment_id}", key))
    for response in probes:
        assert_error(response, 404, "not_found")
        assert MARKER not in response.get_data(as_text=True)
    b = Institution.get(Institution.sigla == "INSTB")
    for query in ("", f"?institution={b.id}", "?queue=1", "?type=soporte", "?state=nuevo"):
        listed = api.get(f"/tickets{query}", key).get_json()["items"]
        assert [t["id"] for t in listed] == [mine.id], query  # their own, never the colleague's
    assert api.get(f"/tickets/{mine.id}", key).status_code == 200  # the probe can succeed
    assert _state(theirs.id) == before


def test_the_requester_reads_the_ticket_but_never_its_internal_note(app, api):
    theirs = _b_world()
    before = _state(theirs.id)
    body = api.get(f"/tickets/{theirs.id}", "interno_b")
    assert MARKER in body.get_json()["title"]  # the requester does see the ticket itself
    assert f"{MARKER} nota" not in body.get_data(as_text=True)
    listed = api.get("/tickets", "interno_b").get_data(as_text=True)
    assert f"{MARKER} nota" not in listed
    # asking to write an internal note is refused, and nothing is written
    refused = api.post(
        f"/tickets/{theirs.id}/comments", "interno_b", json={"body": "x", "internal": True}
    )
    assert refused.status_code in (403, 422)
    assert _state(theirs.id) == before


def test_positive_control_b_sees_its_own_ticket_and_files(app, api):
    """The same requests as B's focal user do reach B's data: the probes above can fail."""
    theirs = _b_world()
    b = Institution.get(Institution.sigla == "INSTB")
    body = api.get(f"/tickets/{theirs.id}", "focal_b").get_json()
    assert MARKER in body["title"]
    assert f"{MARKER} nota" in [c["body"] for c in body["comments"]]
    for attachment in body["attachments"]:
        download = api.get(f"/tickets/{theirs.id}/attachments/{attachment['id']}", "focal_b")
        assert download.status_code == 200
    assert api.get(f"/institutions/{b.id}", "focal_b").get_json()["sigla"] == "INSTB"
    listed = api.get(f"/tickets?institution={b.id}", "focal_b").get_json()["items"]
    assert [t["id"] for t in listed] == [theirs.id]


def test_the_requester_never_gets_internal_files(app, api):
    theirs = _b_world()
    internal = Attachment.get((Attachment.ticket == theirs.id) & (Attachment.internal == True))
    public = [
        a.id
        for a in Attachment.select().where(
            (Attachment.ticket == theirs.id) & (Attachment.internal == False)
        )
    ]
    body = api.get(f"/tickets/{theirs.id}", "interno_b").get_json()
    assert sorted(a["id"] for a in body["attachments"]) == sorted(public)
    assert f"{MARKER} nota" not in api.get(f"/tickets/{theirs.id}", "interno_b").get_data(
        as_text=True
    )
    refused = api.get(f"/tickets/{theirs.id}/attachments/{internal.id}", "interno_b")
    assert_error(refused, 404, "not_found")
    staff = api.get(f"/tickets/{theirs.id}/attachments/{internal.id}", "focal_b")
    assert staff.status_code == 200 and staff.data == f"{MARKER} nota".encode()


def test_the_agq_sees_only_what_reached_sge(app, api):
    theirs = _b_world()
    assert_error(api.get(f"/tickets/{theirs.id}", "agq"), 404)
    services.transition(user("focal_b"), theirs.id, "escalar", comment="Para SGE")
    escalation = Ticket.get(Ticket.parent == theirs.id)
    listed = [t["id"] for t in api.get("/tickets", "agq").get_json()["items"]]
    assert listed == [escalation.id]
    assert_error(api.get(f"/tickets/{theirs.id}", "agq"), 404)  # the first-level ticket stays
    linked = api.get(f"/tickets/{escalation.id}", "agq").get_json()["linked"]
    assert linked == []  # the parent is not the AGQ's to see, not even as a link
    focal_view = api.get(f"/tickets/{theirs.id}", "focal_b").get_json()["linked"]
    assert [link["id"] for link in focal_view] == [escalation.id]
