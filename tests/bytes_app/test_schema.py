"""The OpenAPI schema is valid, and real responses match what it says."""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate


@pytest.fixture
def schema(team, client_for) -> dict[str, Any]:
    response = client_for(team["viewer"]).get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_schema_is_valid_openapi(schema):
    validate(schema)
    assert schema["openapi"].startswith("3.")
    for path in (
        "/api/bytes/",
        "/api/bytes/{id}/",
        "/api/modules/",
        "/api/workspaces/{workspace_pk}/members/",
    ):
        assert path in schema["paths"]


def test_docs_page_renders(team, client_for):
    response = client_for(team["viewer"]).get("/api/docs/")
    assert response.status_code == 200 and b"swagger" in response.content.lower()


def _resolve(node: Any, components: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _resolve(components[node["$ref"].rsplit("/", 1)[1]], components)
        return {key: _resolve(value, components) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(item, components) for item in node]
    return node


def _operation(schema: dict[str, Any], method: str, url: str) -> dict[str, Any]:
    path = url.split("?")[0]
    for template, operations in schema["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", r"[^/]+", template) + "$"
        if re.match(pattern, path) and method in operations:
            return operations[method]
    raise AssertionError(f"{method} {path} is not in the schema")


def _check(schema: dict[str, Any], method: str, url: str, response: Any) -> None:
    operation = _operation(schema, method, url)
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, f"{method} {url} answered {response.status_code}, not documented"
    if response.status_code == 204:
        return
    body_schema = _resolve(
        documented["content"]["application/json"]["schema"], schema["components"]["schemas"]
    )
    errors = list(OAS30Validator(body_schema).iter_errors(response.json()))
    assert not errors, [error.message for error in errors[:5]]


def test_responses_match_the_schema(team, client_for, schema):
    client = client_for(team["owner"])
    ids = {"ws": team["workspace"].pk, "m": team["deploy"].pk, "b": team["byte"].pk}
    revision = team["byte"].revisions.first().pk
    gets = [
        "/api/workspaces/",
        f"/api/workspaces/{ids['ws']}/",
        f"/api/workspaces/{ids['ws']}/tree/",
        f"/api/workspaces/{ids['ws']}/members/",
        f"/api/workspaces/{ids['ws']}/members/eddie/",
        "/api/modules/",
        f"/api/modules/{ids['m']}/",
        "/api/bytes/",
        "/api/bytes/?q=rollback",
        f"/api/bytes/{ids['b']}/",
        f"/api/bytes/{ids['b']}/links/",
        f"/api/bytes/{ids['b']}/backlinks/",
        f"/api/bytes/{ids['b']}/revisions/",
        f"/api/bytes/{ids['b']}/revisions/{revision}/",
        f"/api/bytes/{ids['b']}/revisions/{revision}/diff/",
        "/api/tags/",
        "/api/auth/session/",
    ]
    for url in gets:
        _check(schema, "get", url, client.get(url))
    writes = [
        ("post", "/api/workspaces/", {"name": "New"}),
        ("patch", f"/api/workspaces/{ids['ws']}/", {"name": "Renamed"}),
        ("post", f"/api/workspaces/{ids['ws']}/members/", {"username": "oscar", "role": "viewer"}),
        ("patch", f"/api/workspaces/{ids['ws']}/members/oscar/", {"role": "editor"}),
        ("post", "/api/modules/", {"workspace": ids["ws"], "name": "Fresh"}),
        ("patch", f"/api/modules/{ids['m']}/", {"description": "How we ship"}),
        ("post", "/api/bytes/", {"module": ids["m"], "title": "Fresh", "tags": ["x"]}),
        ("patch", f"/api/bytes/{ids['b']}/", {"content": "edited"}),
        ("put", f"/api/bytes/{ids['b']}/", {"title": "Rollback", "content": "again"}),
        ("post", f"/api/bytes/{ids['b']}/revisions/{revision}/restore/", None),
        ("delete", f"/api/workspaces/{ids['ws']}/members/oscar/", None),
        ("delete", f"/api/bytes/{team['checklist'].pk}/", None),
    ]
    for method, url, body in writes:
        response = getattr(client, method)(url, body, format="json") if body else getattr(client, method)(url)
        _check(schema, method, url, response)
