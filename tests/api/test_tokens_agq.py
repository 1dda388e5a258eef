"""The AGQ lists and revokes anyone's tokens; everyone else only their own."""

from tests.api.conftest import assert_error
from tests.conftest import user
from ticketing.api_tokens import create_token
from ticketing.models import ApiToken


def test_agq_lists_and_revokes_another_persons_token(app, api):
    row, _secret = create_token(user("focal"), name="Quipux")
    listed = api.get(f"/tokens?user={user('focal').id}", "agq")
    assert listed.status_code == 200
    assert [t["id"] for t in listed.get_json()["items"]] == [row.id]
    assert api.call("DELETE", f"/tokens/{row.id}", "agq").status_code == 200
    assert ApiToken.get_by_id(row.id).revoked_at is not None


def test_others_neither_list_nor_revoke_someone_elses_token(app, api):
    row, _secret = create_token(user("focal"), name="Quipux")
    assert_error(api.get(f"/tokens?user={user('focal').id}", "focal_b"), 404)
    assert_error(api.call("DELETE", f"/tokens/{row.id}", "focal_b"), 404)
    assert ApiToken.get_by_id(row.id).revoked_at is None
    assert_error(api.get("/tokens?user=abc", "agq"), 400)
