"""Test settings: production settings with a throwaway secret and plain HTTP (no TLS redirect)."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-not-used-anywhere-else-0123456789")
os.environ.setdefault("KB_HTTPS", "0")
os.environ.setdefault("KB_DATA_DIR", os.path.join(os.path.dirname(__file__), "..", "data", "tests"))

from kb.settings import *  # noqa: F403

STATIC_ROOT = DATA_DIR / "static"  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
