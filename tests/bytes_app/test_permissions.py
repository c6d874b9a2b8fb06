"""The permission matrix: every endpoint and method, for anonymous, non-member, viewer, editor, owner,
on the team's own objects and on another workspace's objects."""

from __future__ import annotations

from typing import Any

import pytest

ROLES = ["anonymous", "outsider", "viewer", "editor", "owner"]
USER_OF_ROLE = {
    "anonymous": None,
    "outsider": "outsider",
    "viewer": "viewer",
    "editor": "editor",
    "owner": "owner",
}


def _ids(team: dict[str, Any]) -> dict[str, Any]:
    return {
        "ws": team["workspace"].pk,
        "module": team["deploy"].pk,
        "parent": team["ops"].pk,
        "byte": team["byte"].pk,
        "revision": team["byte"].revisions.first().pk,
        "foreign_ws": team["elsewhere"].pk,
        "foreign_module": team["secret_module"].pk,
        "foreign_byte": team["secret"].pk,
        "foreign_revision": team["secret"].revisions.first().pk,
    }


# (method, url, body, expected status per role in ROLES order)
# Bodies are valid, so the only reason for a refusal is who is asking.
MATRIX: list[tuple[str, str, dict[str, Any] | None, tuple[int, int, int, int, int]]] = [
    ("get", "/api/workspaces/", None, (401, 200, 200, 200, 200)),
    ("post", "/api/workspaces/", {"name": "New team"}, (401, 201, 201, 201, 201)),
    ("get", "/api/workspaces/{ws}/", None, (401, 404, 200, 200, 200)),
    ("patch", "/api/workspaces/{ws}/", {"name": "Renamed"}, (401, 404, 403, 403, 200)),
    ("delete", "/api/workspaces/{ws}/", None, (401, 404, 403, 403, 204)),
    ("get", "/api/workspaces/{ws}/tree/", None, (401, 404, 200, 200, 200)),
    ("get", "/api/workspaces/{ws}/members/", None, (401, 404, 200, 200, 200)),
    ("get", "/api/workspaces/{ws}/members/eddie/", None, (401, 404, 200, 200, 200)),
    (
        "post",
        "/api/workspaces/{ws}/members/",
        {"username": "fresh", "role": "viewer"},
        (401, 404, 403, 403, 201),
    ),
    ("patch", "/api/workspaces/{ws}/members/eddie/", {"role": "viewer"}, (401, 404, 403, 403, 200)),
    ("delete", "/api/workspaces/{ws}/members/newbie/", None, (401, 404, 403, 403, 204)),
    ("get", "/api/modules/{module}/", None, (401, 404, 200, 200, 200)),
    ("post", "/api/modules/", {"workspace": "{ws}", "name": "Fresh"}, (401, 400, 403, 201, 201)),
    (
        "post",
        "/api/modules/",
        {"workspace": "{ws}", "name": "Sub", "parent": "{parent}"},
        (401, 400, 403, 201, 201),
    ),
    ("patch", "/api/modules/{module}/", {"name": "Deployments"}, (401, 404, 403, 200, 200)),
    ("patch", "/api/modules/{module}/", {"parent": None}, (401, 404, 403, 200, 200)),
    ("delete", "/api/modules/{module}/", None, (401, 404, 403, 204, 204)),
    ("get", "/api/bytes/{byte}/", None, (401, 404, 200, 200, 200)),
    ("post", "/api/bytes/", {"module": "{module}", "title": "New byte"}, (401, 400, 403, 201, 201)),
    ("patch", "/api/bytes/{byte}/", {"content": "edited"}, (401, 404, 403, 200, 200)),
    ("put", "/api/bytes/{byte}/", {"title": "T", "content": "C"}, (401, 404, 403, 200, 200)),
    ("patch", "/api/bytes/{byte}/", {"module": "{parent}"}, (401, 404, 403, 200, 200)),
    ("delete", "/api/bytes/{byte}/", None, (401, 404, 403, 204, 204)),
    ("get", "/api/bytes/{byte}/links/", None, (401, 404, 200, 200, 200)),
    ("get", "/api/bytes/{byte}/backlinks/", None, (401, 404, 200, 200, 200)),
    ("get", "/api/bytes/{byte}/revisions/", None, (401, 404, 200, 200, 200)),
    ("get", "/api/bytes/{byte}/revisions/{revision}/", None, (401, 404, 200, 200, 200)),
    ("get", "/api/bytes/{byte}/revisions/{revision}/diff/", None, (401, 404, 200, 200, 200)),
    ("post", "/api/bytes/{byte}/revisions/{revision}/restore/", None, (401, 404, 403, 200, 200)),
    ("get", "/api/tags/", None, (401, 200, 200, 200, 200)),
    ("get", "/api/modules/", None, (401, 200, 200, 200, 200)),
    ("get", "/api/bytes/", None, (401, 200, 200, 200, 200)),
    ("get", "/api/bytes/?q=rollback", None, (401, 200, 200, 200, 200)),
]

# Another workspace's objects: members of the team get exactly what a stranger to it would get
# (a viewer asking to change their own byte is refused for being a viewer first).
FOREIGN: list[tuple[str, str, dict[str, Any] | None, tuple[int, int, int]]] = [
    ("get", "/api/workspaces/{foreign_ws}/", None, (404, 404, 404)),
    ("patch", "/api/workspaces/{foreign_ws}/", {"name": "pwned"}, (404, 404, 404)),
    ("delete", "/api/workspaces/{foreign_ws}/", None, (404, 404, 404)),
    ("get", "/api/workspaces/{foreign_ws}/tree/", None, (404, 404, 404)),
    ("get", "/api/workspaces/{foreign_ws}/members/", None, (404, 404, 404)),
    (
        "post",
        "/api/workspaces/{foreign_ws}/members/",
        {"username": "eddie", "role": "owner"},
        (404, 404, 404),
    ),
    ("get", "/api/modules/{foreign_module}/", None, (404, 404, 404)),
    ("patch", "/api/modules/{foreign_module}/", {"name": "pwned"}, (404, 404, 404)),
    ("delete", "/api/modules/{foreign_module}/", None, (404, 404, 404)),
    ("post", "/api/modules/", {"workspace": "{foreign_ws}", "name": "Intruder"}, (400, 400, 400)),
    ("patch", "/api/modules/{module}/", {"parent": "{foreign_module}"}, (403, 400, 400)),
    ("get", "/api/bytes/{foreign_byte}/", None, (404, 404, 404)),
    ("patch", "/api/bytes/{foreign_byte}/", {"content": "pwned"}, (404, 404, 404)),
    ("delete", "/api/bytes/{foreign_byte}/", None, (404, 404, 404)),
    ("post", "/api/bytes/", {"module": "{foreign_module}", "title": "Intruder"}, (400, 400, 400)),
    ("patch", "/api/bytes/{byte}/", {"module": "{foreign_module}"}, (403, 400, 400)),
    ("get", "/api/bytes/{foreign_byte}/links/", None, (404, 404, 404)),
    ("get", "/api/bytes/{foreign_byte}/backlinks/", None, (404, 404, 404)),
    ("get", "/api/bytes/{foreign_byte}/revisions/", None, (404, 404, 404)),
    ("get", "/api/bytes/{byte}/revisions/{foreign_revision}/", None, (404, 404, 404)),
    ("post", "/api/bytes/{byte}/revisions/{foreign_revision}/restore/", None, (403, 404, 404)),
    ("get", "/api/bytes/{byte}/revisions/{foreign_revision}/diff/", None, (404, 404, 404)),
    ("get", "/api/bytes/999999/", None, (404, 404, 404)),
    ("get", "/api/modules/999999/", None, (404, 404, 404)),
]


def _fill(value: Any, ids: dict[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return ids[value[1:-1]]
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    return value


def _call(client: Any, method: str, url: str, body: dict[str, Any] | None) -> Any:
    if body is None:
        return getattr(client, method)(url)
    return getattr(client, method)(url, body, format="json")


@pytest.fixture
def newbie(team, make_user):
    """A second viewer (the one removed in the matrix) and a user who is nobody's member yet."""
    from bytes_app import services

    make_user("newbie")
    make_user("fresh")
    services.membership_set(workspace=team["workspace"], username="newbie", role="viewer")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "url", "body", "expected"), MATRIX, ids=[f"{m} {u}" for m, u, _, _ in MATRIX]
)
def test_matrix(team, client_for, newbie, role, method, url, body, expected):
    ids = _ids(team)
    user = team[USER_OF_ROLE[role]] if USER_OF_ROLE[role] else None
    response = _call(client_for(user), method, _fill(url, ids), _fill(body, ids))
    want = expected[ROLES.index(role)]
    assert response.status_code == want, (role, method, url, response.status_code, response.content[:300])
    if want >= 400:
        assert "detail" in response.json() or response.status_code == 400


@pytest.mark.parametrize("role", ["viewer", "editor", "owner"])
@pytest.mark.parametrize(
    ("method", "url", "body", "expected"), FOREIGN, ids=[f"{m} {u}" for m, u, _, _ in FOREIGN]
)
def test_other_workspace_ids(team, client_for, role, method, url, body, expected):
    ids = _ids(team)
    response = _call(client_for(team[role]), method, _fill(url, ids), _fill(body, ids))
    want = expected[["viewer", "editor", "owner"].index(role)]
    assert response.status_code == want, (role, method, url, response.content[:300])
    secret = team["secret"]
    secret.refresh_from_db()
    assert secret.content == "nope" and secret.title == "Hidden"


def test_refusals_look_the_same_for_hidden_and_missing(team, client_for):
    """A stranger cannot tell another team's byte from one that does not exist."""
    client = client_for(team["outsider"])
    hidden = client.get(f"/api/bytes/{team['byte'].pk}/")
    missing = client.get("/api/bytes/987654/")
    assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json())
    hidden = client.post("/api/modules/", {"workspace": team["workspace"].pk, "name": "x"}, format="json")
    missing = client.post("/api/modules/", {"workspace": 987654, "name": "x"}, format="json")
    assert hidden.status_code == missing.status_code == 400
    assert hidden.json()["workspace"][0].replace(str(team["workspace"].pk), "N") == missing.json()[
        "workspace"
    ][0].replace("987654", "N")


@pytest.mark.parametrize(
    "url",
    ["/api/workspaces/", "/api/modules/", "/api/bytes/", "/api/tags/", "/api/bytes/?q=nope"],
)
def test_lists_hold_only_what_the_caller_can_see(team, client_for, url):
    body = client_for(team["viewer"]).get(url).json()
    rows = body["results"] if isinstance(body, dict) else body
    foreign = {team["elsewhere"].pk}
    for row in rows:
        workspace = row.get("workspace", row.get("id") if url == "/api/workspaces/" else None)
        assert workspace not in foreign, row
    stranger_rows = client_for(team["outsider"]).get(url).json()["results"]
    if url == "/api/bytes/?q=nope":
        assert [row["title"] for row in stranger_rows] == ["Hidden"]
    elif url in ("/api/bytes/", "/api/modules/"):
        assert {row["workspace"] for row in stranger_rows} == foreign


def test_member_may_leave_but_not_remove_others(team, client_for):
    ws = team["workspace"].pk
    viewer = client_for(team["viewer"])
    assert viewer.delete(f"/api/workspaces/{ws}/members/eddie/").status_code == 403
    assert viewer.delete(f"/api/workspaces/{ws}/members/vera/").status_code == 204
    assert viewer.get(f"/api/workspaces/{ws}/").status_code == 404


def test_last_owner_cannot_leave_or_be_demoted(team, client_for):
    ws = team["workspace"].pk
    owner = client_for(team["owner"])
    response = owner.patch(f"/api/workspaces/{ws}/members/olive/", {"role": "editor"}, format="json")
    assert response.status_code == 400 and "owner" in response.json()["role"][0]
    assert owner.delete(f"/api/workspaces/{ws}/members/olive/").status_code == 400
    assert (
        owner.patch(f"/api/workspaces/{ws}/members/eddie/", {"role": "owner"}, format="json").status_code
        == 200
    )
    assert owner.delete(f"/api/workspaces/{ws}/members/olive/").status_code == 204
