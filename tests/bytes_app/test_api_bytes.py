"""Bytes over REST: the contract fields, ETag/If-Match, bad input, filters and pagination."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from bytes_app.models import Byte


@pytest.fixture
def editor(team, client_for):
    return client_for(team["editor"])


def test_byte_has_the_contract_fields(team, editor):
    response = editor.get(f"/api/bytes/{team['byte'].pk}/")
    assert response.status_code == 200
    body = response.json()
    for field in ("id", "module", "title", "slug", "content", "tags", "version", "created_at", "updated_at"):
        assert field in body
    assert body["path"] == "ops/deploy/rollback"
    assert body["tags"] == ["howto"]
    assert response["ETag"] == '"1"'


def test_getting_a_byte_takes_a_fixed_number_of_queries(team, editor, django_assert_num_queries):
    # token and user, the byte with its module, workspace, role and authors, its tags, the
    # workspace's modules (for the path); it took two more, one per author
    editor.get(f"/api/bytes/{team['byte'].pk}/")  # (the first request warms caches)
    with django_assert_num_queries(4):
        response = editor.get(f"/api/bytes/{team['byte'].pk}/")
    assert response.status_code == 200 and response.json()["created_by"], response.content


def test_create_derives_slug_and_appends_position(team, editor):
    response = editor.post(
        "/api/bytes/",
        {
            "module": team["deploy"].pk,
            "title": "Blue/Green Deploys!",
            "content": "x",
            "tags": ["Deploy", "deploy"],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["slug"] == "bluegreen-deploys"
    assert body["position"] == 2
    assert body["tags"] == ["deploy"]
    assert body["created_by"] == "eddie"
    assert response["ETag"] == '"1"'


def test_version_grows_on_every_change_and_if_match_guards_it(team, editor):
    url = f"/api/bytes/{team['byte'].pk}/"
    first = editor.patch(url, {"content": "v2"}, format="json", HTTP_IF_MATCH='"1"')
    assert first.status_code == 200 and first.json()["version"] == 2 and first["ETag"] == '"2"'
    stale = editor.patch(url, {"content": "lost update"}, format="json", HTTP_IF_MATCH='"1"')
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    assert Byte.objects.get(pk=team["byte"].pk).content == "v2"
    assert (
        editor.patch(url, {"title": "Roll back"}, format="json", HTTP_IF_MATCH='W/"2"').json()["version"] == 3
    )
    assert editor.patch(url, {"tags": ["a"]}, format="json").json()["version"] == 4
    unchanged = editor.patch(url, {"content": "v2"}, format="json")
    assert unchanged.json()["version"] == 4, "a write that changes nothing is not a new version"
    assert editor.patch(url, {"content": "x"}, format="json", HTTP_IF_MATCH="garbage").status_code == 412
    assert editor.delete(url, HTTP_IF_MATCH='"1"').status_code == 412
    assert editor.delete(url, HTTP_IF_MATCH='"4"').status_code == 204


def test_conditional_get(team, editor):
    url = f"/api/bytes/{team['byte'].pk}/"
    assert editor.get(url, HTTP_IF_NONE_MATCH='"1"').status_code == 304
    assert editor.get(url, HTTP_IF_NONE_MATCH='"0"').status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": 12}, None),
        ({"title": "!!!"}, "title"),
        ({"title": "ok", "slug": "Not A Slug"}, "slug"),
        ({"title": "ok", "content": ["list"]}, "content"),
        ({"title": "ok", "tags": "howto"}, "tags"),
        ({"title": "ok", "tags": ["bad tag!"]}, "tags"),
        ({"title": "ok", "tags": [{"x": 1}]}, "tags"),
        ({"title": "ok", "position": -1}, "position"),
        ({"title": "ok", "module": "abc"}, "module"),
        ({"title": "Rollback"}, "slug"),
    ],
)
def test_create_rejects_bad_input_per_field(team, editor, body, field):
    body = {"module": team["deploy"].pk, **body}
    before = Byte.objects.count()
    response = editor.post("/api/bytes/", body, format="json")
    assert response.status_code == 400, response.content
    if field:
        assert field in response.json(), response.json()
    assert Byte.objects.count() == before


def test_content_limit_is_a_clear_400_and_huge_bodies_a_413(team, editor, settings):
    settings.KB_BYTE_MAX_CHARS = 100
    url = f"/api/bytes/{team['byte'].pk}/"
    response = editor.patch(url, {"content": "x" * 101}, format="json")
    assert response.status_code == 400
    assert "at most 100 characters" in response.json()["content"][0]
    huge = editor.generic(
        "PATCH", url, b'{"content": "' + b"x" * (3 * 1024 * 1024) + b'"}', "application/json"
    )
    assert huge.status_code == 413
    assert Byte.objects.get(pk=team["byte"].pk).content.startswith("Run")


def test_malformed_json_is_a_400(team, editor):
    response = editor.generic("POST", "/api/bytes/", b"{not json", "application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_move_between_modules_keeps_slug_unique(team, editor):
    other = editor.post(
        "/api/modules/", {"workspace": team["workspace"].pk, "name": "Other"}, format="json"
    ).json()
    clash = editor.post("/api/bytes/", {"module": other["id"], "title": "Rollback"}, format="json")
    assert clash.status_code == 201
    response = editor.patch(f"/api/bytes/{team['byte'].pk}/", {"module": other["id"]}, format="json")
    assert response.status_code == 400 and "slug" in response.json()
    moved = editor.patch(
        f"/api/bytes/{team['checklist'].pk}/",
        {"module": other["id"], "position": 0, "title": "C"},
        format="json",
    )
    assert moved.status_code == 200
    assert moved.json()["module"] == other["id"] and moved.json()["position"] == 0
    assert moved.json()["path"] == "other/checklist"


def test_failed_move_rolls_back_the_edit_in_the_same_request(team, editor):
    other = editor.post(
        "/api/modules/", {"workspace": team["workspace"].pk, "name": "Other"}, format="json"
    ).json()
    editor.post("/api/bytes/", {"module": other["id"], "title": "Rollback"}, format="json")
    response = editor.patch(
        f"/api/bytes/{team['byte'].pk}/", {"module": other["id"], "content": "changed"}, format="json"
    )
    assert response.status_code == 400
    assert Byte.objects.get(pk=team["byte"].pk).content.startswith("Run")


def test_reorder_within_module(team, editor):
    response = editor.patch(f"/api/bytes/{team['checklist'].pk}/", {"position": 0}, format="json")
    assert response.status_code == 200
    order = editor.get(f"/api/bytes/?module={team['deploy'].pk}&ordering=position").json()["results"]
    assert [row["slug"] for row in order] == ["checklist", "rollback"]
    assert [row["position"] for row in order] == [0, 1]


def test_filters(team, editor):
    ws = team["workspace"].pk
    assert [b["slug"] for b in editor.get("/api/bytes/?tag=howto").json()["results"]] == ["rollback"]
    assert editor.get(f"/api/bytes/?module={team['ops'].pk}").json()["count"] == 0
    assert editor.get(f"/api/bytes/?workspace={ws}").json()["count"] == 2
    future = (timezone.now() + timedelta(hours=1)).isoformat()
    assert editor.get("/api/bytes/", {"updated_since": future}).json()["count"] == 0
    past = (timezone.now() - timedelta(hours=1)).isoformat()
    assert editor.get("/api/bytes/", {"updated_since": past}).json()["count"] == 2
    bad = editor.get("/api/bytes/?updated_since=yesterday")
    assert bad.status_code == 400 and "updated_since" in bad.json()
    assert editor.get("/api/bytes/?module=abc").status_code == 400


def test_pagination_is_bounded(team, editor):
    module = team["deploy"]
    for number in range(5):
        editor.post("/api/bytes/", {"module": module.pk, "title": f"Note {number}"}, format="json")
    page = editor.get("/api/bytes/?page_size=3").json()
    assert page["count"] == 7 and len(page["results"]) == 3 and page["next"]
    assert len(editor.get("/api/bytes/?page_size=100000").json()["results"]) == 7
    assert editor.get("/api/bytes/?page=99").status_code == 404
    assert editor.get("/api/bytes/?page=abc").status_code == 404


def test_ordering(team, editor):
    titles = [row["title"] for row in editor.get("/api/bytes/?ordering=title").json()["results"]]
    assert titles == sorted(titles)
    titles = [row["title"] for row in editor.get("/api/bytes/?ordering=-title").json()["results"]]
    assert titles == sorted(titles, reverse=True)
    # An unknown ordering field is ignored rather than exposing other columns.
    assert editor.get("/api/bytes/?ordering=content_secret").status_code == 200


def test_read_only_fields_cannot_be_mass_assigned(team, editor):
    url = f"/api/bytes/{team['byte'].pk}/"
    response = editor.patch(
        url, {"version": 99, "id": 5, "created_by": "olive", "path": "x/y", "content": "ok"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == team["byte"].pk and body["version"] == 2 and body["created_by"] == "olive"


def test_delete_removes_byte(team, editor):
    assert editor.delete(f"/api/bytes/{team['checklist'].pk}/").status_code == 204
    assert editor.get(f"/api/bytes/{team['checklist'].pk}/").status_code == 404


def test_unicode_content_round_trips(team, editor):
    content = "Résumé — ✓ 日本語 🚀\n\n```py\nprint('x')\n```"
    body = editor.post(
        "/api/bytes/", {"module": team["deploy"].pk, "title": "Ünïcode", "content": content}, format="json"
    ).json()
    assert body["content"] == content
    assert body["slug"] == "unicode"
