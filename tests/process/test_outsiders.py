"""The walks' "nothing visible to another institution" checks can fail: a leak trips them."""

import pytest

from tests.conftest import user
from tests.process.outsiders import OutsiderBrowsers, OutsiderServices, b_at_work
from ticketing.models import Ticket


def _leak(ticket: Ticket) -> None:
    """What a visibility bug would do: one of the rollout's tickets reaches B's internal user."""
    Ticket.update(requester=user("interno_b").id).where(Ticket.id == ticket.id).execute()


def test_the_service_check_sees_a_leaked_ticket(app, rollout):
    b_at_work()
    outsiders = OutsiderServices()
    outsiders.check(rollout.steps, rollout.institution)  # nothing leaked yet
    _leak(rollout.steps[-1])
    with pytest.raises(AssertionError, match="interno_b"):
        outsiders.check(rollout.steps, rollout.institution)


def test_the_http_check_sees_a_leaked_ticket(app, rollout):
    b_at_work()
    outsiders = OutsiderBrowsers(app)
    outsiders.check(rollout.steps, rollout.institution)
    _leak(rollout.steps[-1])
    with pytest.raises(AssertionError, match="interno_b sees something new at /mis-tickets/"):
        outsiders.check(rollout.steps, rollout.institution)
