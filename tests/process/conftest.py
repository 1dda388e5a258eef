"""A rollout already at step 5: an institution whose AIQ finished the training environment."""

import pytest

from tests.process.helpers import rollout_to_step_5


@pytest.fixture
def rollout(app):
    """Steps 1 to 4 done through the services; the institution may ask for production."""
    return rollout_to_step_5(support_mailbox="mt@mintur.ec")
