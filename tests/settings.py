"""Test settings: production settings with a throwaway secret and plain HTTP (no TLS redirect)."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-not-used-anywhere-else-0123456789")
os.environ.setdefault("KB_HTTPS", "0")
os.environ.setdefault("KB_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "data", "tests"))

from kb.settings import *  # noqa: F403

STATIC_ROOT = DATA_DIR / "static"  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# A file, not SQLite's shared in-memory database: the collab runtime's worker threads open their
# own connections, and shared-cache memory databases lock whole tables between connections.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}  # noqa: F405
KB_ROOM_IDLE_SECONDS = 0
KB_MATERIALIZE_SECONDS = 0.05
