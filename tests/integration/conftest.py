from __future__ import annotations

import uuid

import pytest
import redis

from tests.conftest import require_service
from tests.servers import Server

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_url():
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as error:
        require_service("Redis on 127.0.0.1:6379", str(error))
    return REDIS


@pytest.fixture
def cluster(transactional_db, redis_url):
    """Two server processes sharing the test database and Redis (a prefix of their own)."""
    prefix = f"kbtest{uuid.uuid4().hex[:8]}"
    servers = [Server(redis_url=redis_url, env={"KB_CHANNEL_PREFIX": prefix}) for _ in range(2)]
    for server in servers:
        server.start()
    yield servers
    for server in servers:
        server.kill()


@pytest.fixture
def server(transactional_db):
    with Server() as running:
        yield running
