"""DRF's rate limits, surviving an outage of the shared cache (Redis).

With `REDIS_URL` the throttles count in Redis; when it cannot be reached they count in this
process's memory instead (limits then hold per process) rather than answering 500 to every
request. Found by tests/chaos/test_redis_outage.py.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache.backends.locmem import LocMemCache
from rest_framework import throttling

logger = logging.getLogger(__name__)
_local = LocMemCache("kb-throttle-fallback", {})
_warned_at = 0.0


class _FallBackToLocal:
    def allow_request(self, request: Any, view: Any) -> bool:
        global _warned_at
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except Exception as error:  # the cache backend's connection errors have no common base
            if time.monotonic() - _warned_at > 60:
                _warned_at = time.monotonic()
                logger.warning("rate-limit cache unavailable (%s): counting in this process", error)
            self.cache = _local
            return super().allow_request(request, view)  # type: ignore[misc]


class AnonRateThrottle(_FallBackToLocal, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(_FallBackToLocal, throttling.UserRateThrottle):
    pass


class ScopedRateThrottle(_FallBackToLocal, throttling.ScopedRateThrottle):
    pass
