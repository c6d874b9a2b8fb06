"""`[[links]]`, backlinks and broken links; revisions, coalescing, diff and restore."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bytes_app import services
from bytes_app.links import normalize_target, parse_links
from bytes_app.models import Revision


@pytest.mark.parametrize(
    ("content", "targets"),
    [
        ("see [[a]] and [[b|the B]]", ["a", "b"]),
        ("[[ Ops / Deploy / Rollback ]]", ["ops/deploy/rollback"]),
        ("[[a]] [[A]] [[a|again]]", ["a"]),
        ("[[]] [[|x]] [not] [[bro\nken]]", []),
        ("[[/root/x/]]", ["root/x"]),
    ],
)
def test_parse_links(content, targets):
    assert [link.target for link in parse_links(content)] == targets


def test_normalize_target():
    assert normalize_target("//A//b ") == "a/b"


@pytest.fixture
def editor(team, client_for):
    return client_for(team["editor"])


def test_outgoing_links_resolve_relative_and_absolute_and_mark_broken(team, editor):
    response = editor.patch(
        f"/api/bytes/{team['byte'].pk}/",
        {"content": "[[checklist]] [[ops/deploy/checklist|full]] [[nowhere]] [[ops/nope/x]]"},
        format="json",
    )
    assert response.status_code == 200
    links = editor.get(f"/api/bytes/{team['byte'].pk}/links/").json()
    assert [(link["target"], link["broken"]) for link in links] == [
        ("checklist", False),
        ("ops/deploy/checklist", False),
        ("nowhere", True),
        ("ops/nope/x", True),
    ]
    assert links[0]["byte"]["id"] == team["checklist"].pk
    assert links[1]["label"] == "full"
    assert links[2]["byte"] is None


def test_backlinks_follow_relative_and_absolute_links(team, editor):
    other = editor.post(
        "/api/modules/", {"workspace": team["workspace"].pk, "name": "Other"}, format="json"
    ).json()
    far = editor.post(
        "/api/bytes/",
        {"module": other["id"], "title": "Far", "content": "[[ops/deploy/checklist]] and [[checklist]]"},
        format="json",
    ).json()
    backlinks = editor.get(f"/api/bytes/{team['checklist'].pk}/backlinks/").json()
    assert sorted(b["id"] for b in backlinks) == sorted([team["byte"].pk, far["id"]])
    # `[[checklist]]` in module Other is relative to Other, where there is no checklist: broken.
    far_links = editor.get(f"/api/bytes/{far['id']}/links/").json()
    assert [link["broken"] for link in far_links] == [False, True]


def test_links_follow_renames_and_break_on_delete(team, editor):
    editor.patch(f"/api/bytes/{team['checklist'].pk}/", {"slug": "pre-flight"}, format="json")
    links = editor.get(f"/api/bytes/{team['byte'].pk}/links/").json()
    assert links[0]["broken"] is True, "[[checklist]] now points nowhere"
    editor.patch(f"/api/bytes/{team['byte'].pk}/", {"content": "[[pre-flight]]"}, format="json")
    assert editor.get(f"/api/bytes/{team['byte'].pk}/links/").json()[0]["broken"] is False
    editor.delete(f"/api/bytes/{team['checklist'].pk}/")
    assert editor.get(f"/api/bytes/{team['byte'].pk}/links/").json()[0]["broken"] is True


def test_links_do_not_cross_workspaces(team, client_for):
    outsider = client_for(team["outsider"])
    secret_module = team["secret_module"]
    response = outsider.post(
        "/api/bytes/",
        {"module": secret_module.pk, "title": "Peek", "content": "[[ops/deploy/checklist]]"},
        format="json",
    ).json()
    assert outsider.get(f"/api/bytes/{response['id']}/links/").json()[0]["broken"] is True
    backlinks = client_for(team["editor"]).get(f"/api/bytes/{team['checklist'].pk}/backlinks/").json()
    assert response["id"] not in [b["id"] for b in backlinks]


def test_revisions_coalesce_per_author_within_the_window(team, settings):
    byte, editor, owner = team["byte"], team["editor"], team["owner"]
    for number in range(5):
        services.byte_update(byte=byte, user=editor, content=f"keystroke {number}")
    revisions = list(byte.revisions.order_by("id"))
    assert [r.kind for r in revisions] == ["create", "edit"]
    assert revisions[-1].content == "keystroke 4"
    services.byte_update(byte=byte, user=owner, content="owner's turn")
    assert byte.revisions.count() == 3, "another author starts a new revision"
    Revision.objects.filter(pk=byte.revisions.first().pk).update(
        created_at=byte.revisions.first().created_at
        - timedelta(seconds=settings.KB_REVISION_COALESCE_SECONDS + 1)
    )
    services.byte_update(byte=byte, user=owner, content="later")
    assert byte.revisions.count() == 4, "past the window a new revision starts"


def test_diff_and_restore(team, editor, client_for):
    url = f"/api/bytes/{team['byte'].pk}"
    original = team["byte"].revisions.get(kind="create")
    editor.patch(f"{url}/", {"content": "line one\nline two\n", "title": "Changed"}, format="json")
    diff = editor.get(f"{url}/revisions/{original.pk}/diff/").json()
    assert diff["title_changed"] is True
    assert "-Run `kb rollback`. See [[checklist]]." in diff["diff"]
    assert "+line two" in diff["diff"]
    restored = editor.post(f"{url}/revisions/{original.pk}/restore/", HTTP_IF_MATCH='"2"')
    assert restored.status_code == 200, restored.content
    body = restored.json()
    assert body["content"] == original.content and body["title"] == "Rollback" and body["version"] == 3
    history = editor.get(f"{url}/revisions/").json()["results"]
    assert [r["kind"] for r in history] == ["restore", "edit", "create"]
    assert history[0]["restored_from"] == original.pk
    assert editor.post(f"{url}/revisions/{original.pk}/restore/", HTTP_IF_MATCH='"2"').status_code == 412
    # Restoring again is again a new revision, never folded into another.
    editor.post(f"{url}/revisions/{original.pk}/restore/")
    assert len(editor.get(f"{url}/revisions/").json()["results"]) == 4
    assert editor.get(f"{url}/revisions/999999/").status_code == 404


def test_diff_marks_a_last_line_without_newline():
    from bytes_app.api.bytes import unified_diff

    diff = unified_diff("a\nold end", "a\nnew end", "v1", "v2")
    assert diff.splitlines()[-4:] == [
        "-old end",
        "\\ No newline at end of file",
        "+new end",
        "\\ No newline at end of file",
    ]
