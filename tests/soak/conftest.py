"""The soak uses the chaos fixtures (a cluster, a private Redis, a PostgreSQL proxy)."""

from tests.chaos.conftest import make_cluster, pg_proxy, postgres, private_redis, rng  # noqa: F401
