"""Faults the schema fuzzing (tests/fuzz/test_api_schema.py) found in the REST API."""

from __future__ import annotations


def test_patching_a_workspace_with_no_field_keeps_it_as_it_is(team, client_for):
    workspace = team["workspace"]
    response = client_for(team["owner"]).patch(f"/api/workspaces/{workspace.pk}/", {}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Platform"
    workspace.refresh_from_db()
    assert workspace.name == "Platform"
