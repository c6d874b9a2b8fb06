"""Rate limits keep working, per process, when the shared cache (Redis) is down: found by the
Redis outage chaos test, where every REST request answered 500."""

from __future__ import annotations

import pytest
from django.core.cache.backends.locmem import LocMemCache
from rest_framework.test import APIClient

from bytes_app.api import throttling


class DownCache(LocMemCache):
    def get(self, *args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    def set(self, *args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


@pytest.fixture
def redis_down(monkeypatch):
    down = DownCache("down", {})
    for throttle in (throttling.AnonRateThrottle, throttling.UserRateThrottle, throttling.ScopedRateThrottle):
        monkeypatch.setattr(throttle, "cache", down)
    throttling._local.clear()


def test_requests_are_served_while_the_cache_is_down(team, client_for, redis_down):
    response = client_for(team["editor"]).get(f"/api/bytes/{team['byte'].pk}/")
    assert response.status_code == 200


def test_login_is_still_limited_while_the_cache_is_down(team, monkeypatch, redis_down):
    # DRF reads the rates once, at import: set them on the class.
    monkeypatch.setattr(throttling.ScopedRateThrottle, "THROTTLE_RATES", {"login": "3/min"})
    client = APIClient()
    codes = [
        client.post("/api/auth/token/", {"username": "eddie", "password": "wrong"}, format="json").status_code
        for _ in range(5)
    ]
    assert 429 not in codes[:3], codes
    assert codes[3:] == [429, 429], codes
