"""API test helpers: keys made through the real service, and a client that sends them."""

import pytest

from refnet.api.keys import api_key_create
from refnet.api.models import ApiResource

ALL = [r.value for r in ApiResource]


@pytest.fixture
def make_key(db, users):
    """make_key(role="admin", write=True, resources=None) -> the raw key."""

    def make(role="admin", *, write=True, read=True, resources=None, name="Test integration"):
        _key, raw = api_key_create(name=name, role=role, resources=resources or ALL,
                                   can_read=read, can_write=write, by=users["admin"])
        return raw

    return make


class Api:
    def __init__(self, client, raw):
        self.client, self.headers = client, {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    def get(self, path, params=None):
        return self.client.get(f"/api{path}", params or {}, **self.headers)

    def post(self, path, body=None):
        return self.client.post(f"/api{path}", body or {}, content_type="application/json",
                                **self.headers)

    def patch(self, path, body=None):
        return self.client.patch(f"/api{path}", body or {}, content_type="application/json",
                                 **self.headers)


@pytest.fixture
def api(client, make_key):
    """api(role="admin", write=True, ...) -> a client sending that key."""

    def make(role="admin", **kwargs):
        return Api(client, make_key(role, **kwargs))

    return make
