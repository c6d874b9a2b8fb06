"""The webhook REST API: owners only, secret shown once, refused addresses, deliveries, resend,
and every response as the OpenAPI schema says."""

from __future__ import annotations

import pytest

from bytes_app import services as kb
from integrations import signing
from integrations.models import Delivery, Endpoint
from tests.bytes_app.test_schema import _check


@pytest.fixture
def owner(team, client_for):
    return client_for(team["owner"])


def test_only_owners_manage_endpoints(team, client_for, endpoint):
    body = {"workspace": team["workspace"].pk, "url": "https://example.com/hook"}
    for who, status in (("editor", 403), ("viewer", 403), ("outsider", 404)):
        client = client_for(team[who])
        assert client.get(f"/api/webhooks/{endpoint.pk}/").status_code == status
        assert client.patch(f"/api/webhooks/{endpoint.pk}/", {"active": False}).status_code == status
        assert client.get(f"/api/webhooks/{endpoint.pk}/deliveries/").status_code == status
        assert client.get("/api/webhooks/").json()["results"] == []
    assert client_for(team["editor"]).post("/api/webhooks/", body).status_code == 403
    assert client_for(team["outsider"]).post("/api/webhooks/", body).status_code == 400  # hidden
    assert client_for(None).get("/api/webhooks/").status_code == 401
    assert Endpoint.objects.get().active


def test_secret_is_shown_once_and_signs(owner, team, webhook_settings, client_for):
    response = owner.post(
        "/api/webhooks/",
        {
            "workspace": team["workspace"].pk,
            "url": "http://127.0.0.1:9/hook",
            "event_types": ["byte.created"],
        },
    )
    assert response.status_code == 201, response.json()
    secret = response.json()["secret"]
    assert secret.startswith("whsec_") and len(secret) > 40
    again = owner.get(f"/api/webhooks/{response.json()['id']}/").json()
    assert "secret" not in again and again["event_types"] == ["byte.created"]
    assert signing.verify(secret, b"x", signing.sign(secret, b"x"))

    rotated = owner.post(f"/api/webhooks/{response.json()['id']}/rotate-secret/")
    assert rotated.status_code == 200 and rotated.json()["secret"] not in (secret, "")
    assert Endpoint.objects.get().secret == rotated.json()["secret"]
    assert (
        client_for(team["editor"]).post(f"/api/webhooks/{response.json()['id']}/rotate-secret/").status_code
        == 403
    )


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8000/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://10.1.2.3/hook", "private"),
        ("http://192.168.0.10/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://0.0.0.0/hook", "private"),
        ("ftp://example.com/hook", "http"),
        ("https://user:pw@example.com/hook", "credentials"),
    ],
)
def test_refused_addresses_get_a_clear_400(owner, team, url, reason):
    response = owner.post("/api/webhooks/", {"workspace": team["workspace"].pk, "url": url})
    assert response.status_code == 400
    assert reason in " ".join(response.json()["url"])
    assert not Endpoint.objects.exists()


def test_bad_input_is_a_400_that_changes_nothing(owner, team, endpoint, settings):
    ws = team["workspace"].pk
    cases = [
        {"workspace": ws, "url": "not a url"},
        {"workspace": ws, "url": "https://example.com", "event_types": ["byte.exploded"]},
        {"workspace": ws, "url": "https://example.com", "event_types": "byte.created"},
        {"workspace": 999999, "url": "https://example.com"},
        {"url": "https://example.com"},
        {"workspace": ws, "url": "http://[::1/hook"},
        {"workspace": ws, "url": "https://exa mple.com/"},
        {"workspace": ws, "url": "https://example.com:99999/"},
        {"workspace": ws, "url": "https://" + "a" * 600 + ".com/"},
        {"workspace": 10**30, "url": "https://example.com"},
    ]
    for body in cases:
        response = owner.post("/api/webhooks/", body, format="json")
        assert response.status_code == 400, (body, response.content)
    settings.KB_WEBHOOK_ALLOW_PRIVATE = False
    response = owner.patch(f"/api/webhooks/{endpoint.pk}/", {"url": "http://10.0.0.1/"}, format="json")
    assert response.status_code == 400 and "private" in response.json()["url"][0]
    assert owner.put(f"/api/webhooks/{endpoint.pk}/", {}, format="json").status_code == 405
    assert owner.post(f"/api/webhooks/{endpoint.pk}/deliveries/123/resend/").status_code == 404
    assert Endpoint.objects.count() == 1


def test_deliveries_are_listed_and_one_can_be_resent(owner, team, endpoint, receiver, drain, schema):
    kb.byte_create(module=team["deploy"], user=team["owner"], title="Shipped")
    drain(endpoint)
    url = f"/api/webhooks/{endpoint.pk}/deliveries/"
    listed = owner.get(url)
    _check(schema, "get", url, listed)
    [row] = listed.json()["results"]
    assert row["status"] == "succeeded" and row["attempts"] == 1 and row["response_code"] == 200
    assert row["latency_ms"] is not None and row["event_type"] == "byte.created"

    resend = f"{url}{row['id']}/resend/"
    response = owner.post(resend)
    _check(schema, "post", resend, response)
    assert response.status_code == 202 and response.json()["event_id"] == row["event_id"]
    drain(endpoint)
    ids = [item.event["id"] for item in receiver.received]
    assert ids == [row["event_id"], row["event_id"]]
    assert Delivery.objects.filter(status="succeeded").count() == 2


@pytest.fixture
def schema(team, client_for):
    return client_for(team["viewer"]).get("/api/schema/?format=json").json()


def test_responses_match_the_schema(owner, team, schema, webhook_settings):
    assert {"/api/webhooks/", "/api/webhooks/{id}/", "/api/webhooks/{id}/deliveries/"} <= set(schema["paths"])
    create = owner.post(
        "/api/webhooks/", {"workspace": team["workspace"].pk, "url": "http://127.0.0.1:9/"}, format="json"
    )
    _check(schema, "post", "/api/webhooks/", create)
    pk = create.json()["id"]
    for url in ("/api/webhooks/", f"/api/webhooks/{pk}/", f"/api/webhooks/{pk}/deliveries/"):
        _check(schema, "get", url, owner.get(url))
    patch = owner.patch(f"/api/webhooks/{pk}/", {"description": "CI"}, format="json")
    _check(schema, "patch", f"/api/webhooks/{pk}/", patch)
    rotate = f"/api/webhooks/{pk}/rotate-secret/"
    _check(schema, "post", rotate, owner.post(rotate))
    _check(schema, "delete", f"/api/webhooks/{pk}/", owner.delete(f"/api/webhooks/{pk}/"))


def test_admin_registers_an_endpoint_and_shows_its_secret_once(team, admin_client, webhook_settings):
    response = admin_client.post(
        "/admin/integrations/endpoint/add/",
        {
            "workspace": team["workspace"].pk,
            "url": "http://127.0.0.1:9/hook",
            "description": "",
            "event_types": "[]",
            "active": "on",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
        follow=True,
    )
    assert response.status_code == 200
    endpoint = Endpoint.objects.get()
    assert endpoint.secret.startswith("whsec_") and endpoint.secret in response.content.decode()
    page = admin_client.get(f"/admin/integrations/endpoint/{endpoint.pk}/change/")
    assert page.status_code == 200 and endpoint.secret not in page.content.decode()
    assert admin_client.get("/admin/integrations/event/").status_code == 200
