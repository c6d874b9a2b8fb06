"""Browser tests: Debian's Chromium driven by Playwright against a live kb server.

They run in their own pytest run (`pytest -m e2e`; `./dev test` does it), apart from the
async Channels tests: Playwright's sync API wants a thread without a running event loop.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.test import Client

from tests.conftest import require_service
from tests.servers import ROOT, Server

ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Cheap to check, and accepted by the server process, whose settings do not include the
# fast MD5 hasher the other tests use.
FAST_PBKDF2_ITERATIONS = 1000


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """A SQLite test database of this run's own: a browser run beside another pytest run in the
    same checkout would otherwise share one file, and each run deletes it when it starts."""
    from django.conf import settings

    database = settings.DATABASES["default"]
    name = database.get("TEST", {}).get("NAME")
    if database["ENGINE"] == "django.db.backends.sqlite3" and name:
        database["TEST"]["NAME"] = str(Path(name).with_name(f"e2e-{os.getpid()}.sqlite3"))


def chromium_path() -> str | None:
    candidate = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    return candidate if Path(candidate).exists() else None


@pytest.fixture(scope="session")
def built_frontend() -> None:
    """The built wiki, collected where the server's whitenoise serves it from."""
    if not (ROOT / "frontend" / "dist" / "index.html").exists():
        require_service("the built frontend", "run `npm ci && npm run build` in frontend/ (./dev test does)")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kb.settings",
        "SECRET_KEY": "collectstatic-only",
        "DEBUG": "0",
        "KB_HTTPS": "0",
    }
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )


@pytest.fixture(scope="session")
def browser(built_frontend) -> Iterator[object]:
    executable = chromium_path()
    if executable is None:
        require_service("Chromium", "install Debian's `chromium` package or set CHROMIUM=/path/to/chrome")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running on this thread, and Django then
    # refuses ORM calls from "async context". Only browser tests run in this process
    # (they have their own pytest run), so lifting the check here is contained.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def server(transactional_db, built_frontend) -> Iterator[Server]:
    with Server() as running:
        yield running


@dataclass
class Console:
    """Console errors and uncaught exceptions of the pages a test opened."""

    errors: list[str] = field(default_factory=list)
    expected: list[str] = field(default_factory=list)

    def watch(self, page, who: str) -> None:
        page.on("console", lambda msg: msg.type == "error" and self._error(f"{who}: {msg.text}"))
        page.on("pageerror", lambda error: self.errors.append(f"{who}: uncaught {error}"))

    def expect(self, fragment: str) -> None:
        """An error this test provokes on purpose (e.g. the 401 of a wrong password)."""
        self.expected.append(fragment)

    def _error(self, text: str) -> None:
        if not any(fragment in text for fragment in self.expected):
            self.errors.append(text)


@pytest.fixture
def console() -> Iterator[Console]:
    watched = Console()
    yield watched
    assert watched.errors == [], "console errors:\n" + "\n".join(watched.errors)


@pytest.fixture
def open_as(browser, server, console):
    """A signed-in page for a user: `open_as(user, path="/", **context_options)`."""
    contexts = []

    def open_page(user, path: str = "/", **options):
        client = Client()
        client.force_login(user)
        context = browser.new_context(**{"viewport": {"width": 1280, "height": 800}, **options})
        context.add_cookies(
            [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": server.http}]
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        console.watch(page, user.username)
        page.goto(server.http + path)
        return page

    yield open_page
    for context in contexts:
        context.close()


def set_password(user, password: str) -> None:
    user.password = PBKDF2PasswordHasher().encode(password, "e2esalt", iterations=FAST_PBKDF2_ITERATIONS)
    user.save(update_fields=["password"])


class Rest:
    """The REST API of the live server, as an integration would use it (token auth)."""

    def __init__(self, server: Server, token: str) -> None:
        self.base = server.http
        self.token = token

    def call(self, method: str, path: str, body: dict | None = None) -> dict | None:
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Token {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            data = response.read()
        return json.loads(data) if data else None


@pytest.fixture
def rest(server, token_of):
    return lambda user: Rest(server, token_of(user))


# The editor's text as the user sees it: CodeMirror lines without the widgets drawn inside
# them (teammates' carets with their name labels, the placeholder).
EDITOR_TEXT_JS = """() => Array.from(document.querySelectorAll('.cm-content .cm-line')).map(line => {
  const copy = line.cloneNode(true)
  copy.querySelectorAll('.cm-ySelectionCaret, .cm-widgetBuffer, .cm-placeholder').forEach(n => n.remove())
  return copy.textContent.replace(/\\u2060/g, '')
}).join('\\n')"""


def editor_text(page) -> str:
    return page.evaluate(EDITOR_TEXT_JS)


def url_of(byte) -> str:
    return f"/w/{byte.module.workspace_id}/m/{byte.module_id}/b/{byte.pk}"


def module_url(module) -> str:
    return f"/w/{module.workspace_id}/m/{module.pk}"


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
