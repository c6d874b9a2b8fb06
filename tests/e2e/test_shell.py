"""The page shell (kb/frontend.py): served for the app's routes only, with the CSRF cookie and
a content security policy, and a clear 503 before the frontend is built."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def dist(tmp_path, settings):
    """Where the shell comes from without DEBUG: the collected build, beside its assets."""
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path / "collected"
    settings.FRONTEND_DIST = tmp_path / "dist"
    settings.STATIC_ROOT.mkdir()
    settings.FRONTEND_DIST.mkdir()
    return settings.STATIC_ROOT


@pytest.mark.parametrize("path", ["/", "/w/1", "/w/1/m/2/b/3", "/anything/else"])
def test_app_routes_get_the_shell_with_a_csrf_cookie(db, dist, path):
    (dist / "index.html").write_text("<!doctype html><title>kb</title>")
    response = Client().get(path)
    assert response.status_code == 200
    assert response.content == b"<!doctype html><title>kb</title>"
    assert "csrftoken" in response.cookies
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.parametrize("path", ["/api/no-such-thing/", "/static/missing.js", "/ws/modules/1/"])
def test_other_prefixes_are_not_the_app(db, dist, path):
    (dist / "index.html").write_text("shell")
    response = Client().get(path)
    assert response.status_code == 404
    assert b"shell" not in response.content


def test_unbuilt_frontend_answers_503_saying_how_to_build(db, dist):
    response = Client().get("/")
    assert response.status_code == 503
    assert b"npm run build" in response.content


def test_a_rebuild_not_yet_collected_is_not_served(db, dist, settings):
    """Asset names are content hashes: a fresh frontend/dist/index.html names scripts that
    whitenoise (serving STATIC_ROOT) does not have until collectstatic runs."""
    (dist / "index.html").write_text("collected build")
    (settings.FRONTEND_DIST / "index.html").write_text("newer build")
    assert Client().get("/w/1").content == b"collected build"


def test_debug_serves_the_build_output_as_whitenoise_does(db, dist, settings):
    settings.DEBUG = True
    (dist / "index.html").write_text("collected build")
    (settings.FRONTEND_DIST / "index.html").write_text("newer build")
    assert Client().get("/w/1").content == b"newer build"
