"""A web application with a release in acme, and helpers for routes."""

import pytest

from tests.deployments.conftest import make_app, make_release


@pytest.fixture
def shop(world):
    app = make_app(world.acme, name="shop")
    make_release(app)
    return app


def body(**fields):
    return {"tenant": "acme", "environment": "dev", "application": "shop", "host": "shop.acme-corp.com", **fields}
