"""Tokens for integrations, session + CSRF for the browser."""

from __future__ import annotations

from rest_framework.test import APIClient


def test_token_round_trip(team):
    client = APIClient()
    response = client.post(
        "/api/auth/token/", {"username": "eddie", "password": "pw-for-tests-1"}, format="json"
    )
    assert response.status_code == 200
    token = response.json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/workspaces/").status_code == 200
    assert client.delete("/api/auth/token/").status_code == 204
    assert client.get("/api/workspaces/").status_code == 401


def test_wrong_password_is_a_clear_401(team):
    response = APIClient().post("/api/auth/token/", {"username": "eddie", "password": "nope"}, format="json")
    assert response.status_code == 401
    assert response.json()["detail"] == "Wrong username or password."
    missing = APIClient().post("/api/auth/token/", {"username": "eddie"}, format="json")
    assert missing.status_code == 400 and "password" in missing.json()


def test_bad_token_is_401_with_challenge(team):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/workspaces/")
    assert response.status_code == 401
    assert APIClient().get("/api/workspaces/")["WWW-Authenticate"] == "Token"


def test_session_sign_in_needs_csrf_and_writes_need_it_too(team):
    browser = APIClient(enforce_csrf_checks=True)
    state = browser.get("/api/auth/session/")
    assert state.json() == {"user": None}
    csrf = state.cookies["csrftoken"].value
    refused = browser.post(
        "/api/auth/session/", {"username": "eddie", "password": "pw-for-tests-1"}, format="json"
    )
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    signed_in = browser.post(
        "/api/auth/session/",
        {"username": "eddie", "password": "pw-for-tests-1"},
        format="json",
        HTTP_X_CSRFTOKEN=csrf,
    )
    assert signed_in.status_code == 200 and signed_in.json()["user"]["username"] == "eddie"
    csrf = signed_in.cookies.get("csrftoken", state.cookies["csrftoken"]).value
    assert browser.get("/api/workspaces/").status_code == 200
    url = f"/api/bytes/{team['byte'].pk}/"
    no_csrf = browser.patch(url, {"content": "forged"}, format="json")
    assert no_csrf.status_code == 403
    with_csrf = browser.patch(url, {"content": "mine"}, format="json", HTTP_X_CSRFTOKEN=csrf)
    assert with_csrf.status_code == 200
    assert browser.delete("/api/auth/session/", HTTP_X_CSRFTOKEN=csrf).status_code == 204
    assert browser.get("/api/auth/session/").json() == {"user": None}
    assert browser.get("/api/workspaces/").status_code in (401, 403)


def test_wrong_password_in_the_browser(team):
    browser = APIClient(enforce_csrf_checks=True)
    csrf = browser.get("/api/auth/session/").cookies["csrftoken"].value
    response = browser.post(
        "/api/auth/session/", {"username": "eddie", "password": "x"}, format="json", HTTP_X_CSRFTOKEN=csrf
    )
    assert response.status_code == 401
    assert response.json()["detail"] == "Wrong username or password."
