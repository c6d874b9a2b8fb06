"""Faults the schema fuzzing (tests/fuzz/test_api_schema.py) found in the REST API."""

from __future__ import annotations


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
