import datetime as dt

import httpx

from hub.testing import make_context

FROZEN_NOW = dt.datetime(2026, 11, 22, 9, 30, tzinfo=dt.UTC)


def mock_context(handler):
    """A ctx whose requests go to ``handler(request) -> httpx.Response``."""
    return make_context("trigon", httpx.MockTransport(handler), now=lambda: FROZEN_NOW)


def json_response(status, body, headers=None):
    return httpx.Response(status, json=body, headers=headers)
