"""Faults the schema fuzzing (tests/fuzz/test_api_schema.py) found in the REST API."""

from __future__ import annotations

import pytest


def test_patching_a_workspace_with_no_field_keeps_it_as_it_is(team, client_for):
    workspace = team["workspace"]
    response = client_for(team["owner"]).patch(f"/api/workspaces/{workspace.pk}/", {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Platform"
    workspace.refresh_from_db()
    assert workspace.name == "Platform"


def test_byte_lists_without_a_search_match_their_schema(team, client_for):
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    result = schema["components"]["schemas"]["SearchResult"]
    response = client_for(team["owner"]).get("/api/bytes/")
    assert response.status_code == 200
    for item in response.json()["results"]:
        assert set(result["required"]) <= set(item), set(result["required"]) - set(item)
    searched = client_for(team["owner"]).get("/api/bytes/?q=rollback").json()["results"]
    assert searched and all("rank" in item for item in searched)


@pytest.mark.parametrize("path", ["/api/bytes/0.5/", "/api/webhooks/x/", "/api/no-such-thing/"])
def test_unrouted_api_urls_answer_json_404(team, client_for, path):
    response = client_for(team["owner"]).get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "Not found."}


def test_the_schema_documents_the_error_responses(team, client_for):
    schema = client_for(team["viewer"]).get("/api/schema/?format=json").json()
    byte = schema["paths"]["/api/bytes/{id}/"]
    for method in ("get", "patch", "delete"):
        assert {"400", "401", "403", "404", "429"} <= set(byte[method]["responses"]), method
    assert "412" in byte["patch"]["responses"] and "412" in byte["delete"]["responses"]
    assert "415" in byte["patch"]["responses"] and "415" not in byte["get"]["responses"]
    error = byte["get"]["responses"]["404"]["content"]["application/json"]["schema"]
    assert error == {"$ref": "#/components/schemas/Error"}


@pytest.mark.parametrize(
    ("since", "status"),
    [
        ("1646-08-09T20:37:53-16:04", 200),
        ("2000-01-01T00:00:00+15:59", 200),
        ("0001-01-01T00:00:00+01:00", 400),
    ],
)
def test_updated_since_with_any_iso_offset_is_not_a_server_error(team, client_for, since, status):
    response = client_for(team["owner"]).get("/api/bytes/", {"updated_since": since})
    assert response.status_code == status, response.content
    if status == 200:
        assert response.json()["count"] == 2


def test_a_database_outage_is_a_retryable_503(team, client_for, monkeypatch):
    from django.db import OperationalError
    from rest_framework.authentication import TokenAuthentication

    def down(self, key):
        raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")

    client = client_for(team["owner"])
    monkeypatch.setattr(TokenAuthentication, "authenticate_credentials", down)
    response = client.get(f"/api/bytes/{team['byte'].pk}/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5" and "database" in response.json()["detail"]


@pytest.mark.parametrize(
    "query",
    ["/api/modules/?workspace=-7.041892743820128e%2B301", "/api/bytes/?module=99999999999999999999999"],
)
def test_ids_past_a_64_bit_column_are_400s_not_overflows(team, client_for, query):
    """Found by schemathesis on SQLite: the filter passed the number on, SQLite overflowed."""
    assert client_for(team["editor"]).get(query).status_code == 400


def test_a_form_with_too_many_fields_is_a_400(team, client_for, settings):
    """Found by schemathesis: a multipart list of thousands of ids raised TooManyFieldsSent (500)."""
    fields = {"ids": [str(n) for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)]}
    answer = client_for(team["editor"]).post("/api/inbox/read-all/", fields, format="multipart")
    assert answer.status_code == 400 and "form fields" in str(answer.json())
