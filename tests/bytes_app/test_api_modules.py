"""Modules over REST: nesting, sibling slugs, moving subtrees, cycles, the tree view."""

from __future__ import annotations

import pytest

from bytes_app.models import Module


@pytest.fixture
def editor(team, client_for):
    return client_for(team["editor"])


def create(client, workspace, name, parent=None, **extra):
    body = {"workspace": workspace.pk, "name": name, **extra}
    if parent is not None:
        body["parent"] = parent
    return client.post("/api/modules/", body, format="json")


def test_slug_is_unique_among_siblings_only(team, editor):
    ws = team["workspace"]
    assert create(editor, ws, "Deploy").status_code == 201, "same slug at the root is fine"
    clash = create(editor, ws, "deploy!", parent=team["ops"].pk)
    assert clash.status_code == 400 and "already exists" in clash.json()["slug"][0]
    assert create(editor, ws, "Ops").status_code == 400


def test_bad_module_input(team, editor):
    ws = team["workspace"]
    assert "name" in create(editor, ws, "").json()
    assert "name" in create(editor, ws, "???").json()
    assert "slug" in create(editor, ws, "Fine", slug="Bad Slug").json()
    assert "parent" in create(editor, ws, "X", parent=999999).json()
    assert "workspace" in editor.post("/api/modules/", {"name": "x"}, format="json").json()
    assert (
        "workspace" in editor.post("/api/modules/", {"workspace": "one", "name": "x"}, format="json").json()
    )


def test_move_takes_the_subtree_along(team, editor):
    ws = team["workspace"]
    platform = create(editor, ws, "Platform").json()
    response = editor.patch(f"/api/modules/{team['ops'].pk}/", {"parent": platform["id"]}, format="json")
    assert response.status_code == 200
    assert response.json()["path"] == "platform/ops"
    deploy = editor.get(f"/api/modules/{team['deploy'].pk}/").json()
    assert deploy["path"] == "platform/ops/deploy"
    assert editor.get(f"/api/bytes/{team['byte'].pk}/").json()["path"] == "platform/ops/deploy/rollback"


@pytest.mark.parametrize("target", ["self", "child", "grandchild"])
def test_cycles_are_refused(team, editor, target):
    ws = team["workspace"]
    grandchild = create(editor, ws, "Deeper", parent=team["deploy"].pk).json()
    ids = {"self": team["ops"].pk, "child": team["deploy"].pk, "grandchild": grandchild["id"]}
    response = editor.patch(f"/api/modules/{team['ops'].pk}/", {"parent": ids[target]}, format="json")
    assert response.status_code == 400
    assert "itself" in response.json()["parent"][0]
    assert Module.objects.get(pk=team["ops"].pk).parent_id is None


def test_move_into_a_parent_with_the_same_slug_is_refused(team, editor):
    ws = team["workspace"]
    clash = create(editor, ws, "Deploy").json()
    response = editor.patch(f"/api/modules/{clash['id']}/", {"parent": team["ops"].pk}, format="json")
    assert response.status_code == 400 and "slug" in response.json()


def test_rename_keeps_slug_unless_asked(team, editor):
    url = f"/api/modules/{team['deploy'].pk}/"
    assert editor.patch(url, {"name": "Deployments"}, format="json").json()["slug"] == "deploy"
    assert editor.patch(url, {"slug": "deployments"}, format="json").json()["path"] == "ops/deployments"


def test_positions_and_tree(team, editor):
    ws = team["workspace"]
    b = create(editor, ws, "B").json()
    a = create(editor, ws, "A", position=0).json()
    assert a["position"] == 0
    tree = editor.get(f"/api/workspaces/{ws.pk}/tree/").json()
    assert [node["slug"] for node in tree] == ["a", "ops", "b"]
    assert tree[1]["children"][0]["slug"] == "deploy"
    editor.patch(f"/api/modules/{b['id']}/", {"position": 0}, format="json")
    tree = editor.get(f"/api/workspaces/{ws.pk}/tree/").json()
    assert [node["slug"] for node in tree] == ["b", "a", "ops"]
    assert [node["position"] for node in tree] == [0, 1, 2]


def test_filter_by_parent_and_root(team, editor):
    ws = team["workspace"].pk
    children = editor.get(f"/api/modules/?parent={team['ops'].pk}").json()["results"]
    assert [row["slug"] for row in children] == ["deploy"]
    roots = editor.get(f"/api/modules/?workspace={ws}&root=true").json()["results"]
    assert [row["slug"] for row in roots] == ["ops"]


def test_delete_removes_subtree_and_bytes(team, editor):
    assert editor.delete(f"/api/modules/{team['ops'].pk}/").status_code == 204
    assert editor.get(f"/api/modules/{team['deploy'].pk}/").status_code == 404
    assert editor.get(f"/api/bytes/{team['byte'].pk}/").status_code == 404
