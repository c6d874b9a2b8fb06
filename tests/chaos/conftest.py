"""Fixtures of the chaos tests: real server processes on the test's PostgreSQL database, behind a
proxy the test can cut, sharing a private Redis the test can stop and flush."""

from __future__ import annotations

import os
import random
import shutil
import uuid
from collections.abc import Callable, Iterator

import pytest
from django.db import connection

from tests.conftest import require_service
from tests.servers import Server, test_database_url

from .harness import Cluster, PgProxy, PrivateRedis

SEED = int(os.environ.get("CHAOS_SEED", "0")) or random.SystemRandom().randrange(1, 10**6)


@pytest.fixture
def rng(request) -> random.Random:
    """Seeded per test; the seed is printed on failure (CHAOS_SEED=... replays the choices)."""
    print(f"CHAOS_SEED={SEED}")
    return random.Random(f"{SEED}-{request.node.name}")


@pytest.fixture
def postgres(transactional_db) -> None:
    if connection.vendor != "postgresql":
        require_service("PostgreSQL", "chaos tests run on PostgreSQL (DATABASE_URL=postgresql://...)")


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        require_service("redis-server", "the chaos tests start a Redis of their own")
    redis = PrivateRedis()
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture
def pg_proxy(postgres) -> Iterator[PgProxy]:
    settings = connection.settings_dict
    proxy = PgProxy(settings.get("HOST") or "127.0.0.1", int(settings.get("PORT") or 5432))
    yield proxy
    proxy.close()


@pytest.fixture
def make_cluster(postgres, private_redis, pg_proxy) -> Iterator[Callable[..., Cluster]]:
    """`make_cluster(n=2, env={...})`: n processes on PostgreSQL through the proxy and the
    private Redis, started."""
    made: list[Cluster] = []
    direct = test_database_url()
    host, port = (
        connection.settings_dict.get("HOST") or "127.0.0.1",
        connection.settings_dict.get("PORT") or 5432,
    )
    proxied = direct.replace(f"@{host}:{port}/", f"@127.0.0.1:{pg_proxy.port}/")
    assert proxied != direct, direct

    def make(n: int = 2, env: dict[str, str] | None = None) -> Cluster:
        base = {
            "DATABASE_URL": proxied,
            "KB_CHANNEL_PREFIX": f"kbchaos{uuid.uuid4().hex[:6]}",
            "KB_HEARTBEAT_SECONDS": "1",
            "KB_ROOM_IDLE_SECONDS": "2",
            **(env or {}),
        }
        cluster = Cluster([Server(redis_url=private_redis.url, env=base) for _ in range(n)])
        made.append(cluster)
        return cluster.start()

    yield make
    for cluster in made:
        cluster.stop()
