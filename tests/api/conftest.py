"""API test helpers: a real token per demo account, and a client that sends it."""

import pytest

from tests.conftest import user


class Api:
    """Calls /api/v1 as a demo account, with a real token made by the token service."""

    def __init__(self, client):
        self.client = client
        self._secrets: dict[str, str] = {}

    def token(self, key: str) -> str:
        from ticketing.api_tokens import create_token

        if key not in self._secrets:
            self._secrets[key] = create_token(user(key), name=f"test {key}")[1]
        return self._secrets[key]

    def headers(self, key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(key)}"}

    def call(self, method: str, path: str, key: str | None = "focal", **kwargs):
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers.update(self.headers(key))
        return self.client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    def get(self, path, key="focal", **kwargs):
        return self.call("GET", path, key, **kwargs)

    def post(self, path, key="focal", **kwargs):
        return self.call("POST", path, key, **kwargs)

    def patch(self, path, key="focal", **kwargs):
        return self.call("PATCH", path, key, **kwargs)

    def put(self, path, key="focal", **kwargs):
        return self.call("PUT", path, key, **kwargs)


@pytest.fixture
def api(client):
    return Api(client)


def assert_error(response, status: int, code: str | None = None):
    """The response is a JSON error of the one shape, with this status (and code)."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert set(body) == {"error", "message", "fields"}, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["fields"], dict)
    if code is not None:
        assert body["error"] == code, body
    return body
