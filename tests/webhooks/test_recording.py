"""What the domain records for webhooks, in the change's transaction: one delivery per
(event, ticket) and endpoint per unit of work, nothing when the change rolls back, and
nothing SGE may not see."""

import pytest

from tests.conftest import make_ticket, user
from ticketing import services
from ticketing.models import Ticket, WebhookDelivery
from ticketing.outbox import unit_of_work
from ticketing.services.notify import notify, tell
from ticketing.services.webhooks import create_endpoint, update_endpoint

pytestmark = pytest.mark.config(WEBHOOK_ALLOW_HTTP=True)

# nobody listens there: nothing is dispatched in these tests (no dispatcher), see `quiet`
URL = "http://127.0.0.1:9/hooks"


@pytest.fixture
def quiet(app):
    """No after-commit webhook dispatch: rows stay as the domain wrote them."""
    from ticketing.outbox import WEBHOOK_DISPATCH

    wired = app.extensions.pop(WEBHOOK_DISPATCH)
    yield
    app.extensions[WEBHOOK_DISPATCH] = wired


def sge_ticket():
    ticket = make_ticket(user("interno"))
    services.transition(user("aiq"), ticket.id, "escalar", comment="Lo revisa SGE.")
    return Ticket.get(Ticket.parent == ticket.id)


def test_one_delivery_per_event_and_ticket_per_unit_of_work(app, quiet):
    first = create_endpoint(user("agq"), url=URL)
    second = create_endpoint(user("agq"), url=URL + "/otro")
    ticket = sge_ticket()
    WebhookDelivery.delete().execute()
    agq = user("agq")
    with unit_of_work():  # one action telling one event to several groups of people
        notify("state_changed", ticket, ["requester"], agq, extra={"transition": "Atender"})
        notify("state_changed", ticket, ["queue"], agq, extra={"transition": "Atender"})
        tell("state_changed", ticket, [user("aiq")], agq)
        notify("assigned", ticket, ["assignee"], agq)  # another event: its own delivery
    rows = list(WebhookDelivery.select().order_by(WebhookDelivery.id))
    assert [(r.event, r.endpoint_id) for r in rows] == [
        ("state_changed", first.id),
        ("state_changed", second.id),
        ("assigned", first.id),
        ("assigned", second.id),
    ]
    # one event, one id: the same for each endpoint; another event, another id
    assert rows[0].event_id == rows[1].event_id != rows[2].event_id == rows[3].event_id
    assert rows[0].payload["data"]["transition"] == "Atender"
    with unit_of_work():  # the next action is another event
        notify("state_changed", ticket, ["requester"], agq)
    assert WebhookDelivery.select().where(WebhookDelivery.event == "state_changed").count() == 4


def test_an_event_that_mails_nobody_is_delivered_all_the_same(app, quiet):
    create_endpoint(user("agq"), url=URL)
    ticket = sge_ticket()
    WebhookDelivery.delete().execute()
    with unit_of_work():
        notify("state_changed", ticket, [], user("agq"))  # no one to tell
    assert [r.event for r in WebhookDelivery.select()] == ["state_changed"]


def test_a_rolled_back_change_writes_no_delivery(app, quiet):
    create_endpoint(user("agq"), url=URL)
    ticket = sge_ticket()
    before = WebhookDelivery.select().count()
    with pytest.raises(RuntimeError), unit_of_work():
        notify("state_changed", ticket, ["requester"], user("agq"))
        raise RuntimeError("the change fails after its event")
    assert WebhookDelivery.select().count() == before


def test_a_rolled_back_savepoint_forgets_its_event(app, quiet):
    """An effect that failed alone wrote nothing; the same event told afterwards is kept."""
    create_endpoint(user("agq"), url=URL)
    ticket = sge_ticket()
    WebhookDelivery.delete().execute()
    dispatched = []
    app.extensions["mesa.webhook_dispatch"] = dispatched.extend
    try:
        with unit_of_work():
            with pytest.raises(RuntimeError), unit_of_work():
                notify("state_changed", ticket, ["requester"], user("agq"))
                raise RuntimeError("the effect fails")
            assert WebhookDelivery.select().count() == 0
            notify("state_changed", ticket, ["requester"], user("agq"))
    finally:
        app.extensions.pop("mesa.webhook_dispatch")
    rows = list(WebhookDelivery.select())
    assert len(rows) == 1
    assert dispatched == [rows[0].id]  # only the committed row is handed over


def test_only_what_sge_sees_is_delivered(app, quiet):
    """An institution's first-level tickets, and mail with personal links, never are."""
    create_endpoint(user("agq"), url=URL)
    ticket = make_ticket(user("interno"))  # first level: opened, told to its queue
    services.add_comment(user("focal"), ticket.id, "Lo vemos aquí")
    services.create_user(
        user("aiq"),
        full_name="Nueva Persona",
        cedula="1710000090",
        email="nueva@insta.ec",
        role="interno",
        institution_id=user("aiq").institution_id,
    )  # an invitation mail, with its personal link
    assert WebhookDelivery.select().count() == 0
    escalation = sge_ticket()
    assert [r.ticket_id for r in WebhookDelivery.select()] == [escalation.id]


def test_an_endpoint_gets_only_the_events_it_asked_for(app, quiet):
    create_endpoint(user("agq"), url=URL, events=["comment_public"])
    everything = create_endpoint(user("agq"), url=URL + "/todo")
    ticket = sge_ticket()
    services.add_comment(user("agq"), ticket.id, "Respuesta de SGE")
    rows = [(r.event, r.endpoint_id == everything.id) for r in WebhookDelivery.select()]
    assert sorted(rows) == [
        ("comment_public", False),
        ("comment_public", True),
        ("ticket_opened_queue", True),
    ]


def test_an_inactive_endpoint_gets_nothing(app, quiet):
    endpoint = create_endpoint(user("agq"), url=URL)
    update_endpoint(user("agq"), endpoint.id, url=URL, active=False)
    sge_ticket()
    assert WebhookDelivery.select().count() == 0
