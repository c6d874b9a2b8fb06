"""Markdown folders: exact round trips (a Hypothesis property over generated trees), idempotent
imports, edits and moves through the services, dry runs, and hostile input refused whole."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bytes_app import services as kb
from bytes_app.models import Byte, Module, Revision
from bytes_app.selectors import outgoing_links
from integrations.markdown.archive import ImportRefused, read_zip
from integrations.markdown.export import export_files, zip_bytes
from integrations.markdown.importer import import_files
from integrations.models import Event


def _zip(entries: dict[str, bytes], *, links: tuple[str, ...] = ()) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
        for name in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return buffer.getvalue()


def _upload(client, workspace_id: int, data: bytes, **fields):
    upload = io.BytesIO(data)
    upload.name = "kb.zip"
    return client.post(
        f"/api/workspaces/{workspace_id}/import/", {"file": upload, **fields}, format="multipart"
    )


@pytest.fixture
def empty(team):
    return kb.workspace_create(user=team["owner"], name="Empty")


def _state(workspace) -> list[tuple]:
    return sorted(
        (byte.module.slug, byte.slug, byte.title, byte.content, byte.version)
        for byte in Byte.objects.filter(module__workspace=workspace).select_related("module")
    )


def test_cli_round_trip_is_exact_and_reimport_changes_nothing(team, empty, tmp_path):
    kb.byte_create(
        module=team["ops"], user=team["owner"], title="Ünïcode ✓", content="---\ntitle: fake\n---\n"
    )
    kb.byte_create(module=team["ops"], user=team["owner"], title="Empty", content="")
    first, second = tmp_path / "first", tmp_path / "second"
    call_command("kb_export", str(team["workspace"].pk), str(first), stdout=io.StringIO())
    call_command("kb_import", str(first), workspace=str(empty.pk), stdout=io.StringIO())
    call_command("kb_export", "Empty", str(second), stdout=io.StringIO())
    tree = {
        path.relative_to(first).as_posix(): path.read_bytes() for path in first.rglob("*") if path.is_file()
    }
    again = {
        path.relative_to(second).as_posix(): path.read_bytes() for path in second.rglob("*") if path.is_file()
    }
    assert tree == again and "ops/deploy/rollback.md" in tree

    before = _state(empty)
    out = io.StringIO()
    call_command("kb_import", str(second), workspace=str(empty.pk), stdout=out)
    assert '"unchanged": 6' in out.getvalue() and _state(empty) == before


def test_edited_file_is_a_new_revision_and_moved_file_moves_its_byte(team, tmp_path, client_for):
    folder = tmp_path / "kb"
    call_command("kb_export", str(team["workspace"].pk), str(folder), stdout=io.StringIO())
    rollback = folder / "ops/deploy/rollback.md"
    rollback.write_text(rollback.read_text().replace("Run `kb rollback`.", "Run `kb rollback --now`."))
    (folder / "ops/checklist.md").write_bytes((folder / "ops/deploy/checklist.md").read_bytes())
    (folder / "ops/deploy/checklist.md").unlink()
    byte, checklist = team["byte"], team["checklist"]
    revisions = byte.revisions.count()

    call_command(
        "kb_import", str(folder), workspace=str(team["workspace"].pk), user="eddie", stdout=io.StringIO()
    )
    byte.refresh_from_db()
    checklist.refresh_from_db()
    assert byte.content == "Run `kb rollback --now`. See [[checklist]]." and byte.version == 2
    assert byte.revisions.count() == revisions + 1
    assert (
        byte.revisions.first().author == team["editor"] and byte.revisions.first().kind == Revision.Kind.EDIT
    )
    assert checklist.module == team["ops"] and checklist.pk == team["checklist"].pk  # the same byte, moved
    api = client_for(team["owner"]).get(f"/api/bytes/{checklist.pk}/")
    assert api.json()["path"] == "ops/checklist"


def test_links_point_where_they_pointed_after_a_round_trip(team, empty):
    files = export_files(team["workspace"])
    import_files(workspace=empty, user=team["owner"], files=files)
    copy = Byte.objects.get(module__workspace=empty, slug="rollback")
    [link] = outgoing_links(copy)
    assert link.byte is not None and link.byte.slug == "checklist" and link.byte.module.workspace == empty


def test_rest_export_download_and_dry_run_import(team, empty, client_for):
    owner = client_for(team["owner"])
    response = owner.get(f"/api/workspaces/{team['workspace'].pk}/export/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    data = b"".join(response.streaming_content) if response.streaming else response.content
    assert data == zip_bytes(export_files(team["workspace"]))  # deterministic

    dry = _upload(owner, empty.pk, data, dry_run="true")
    assert dry.status_code == 200, dry.json()
    report = dry.json()
    assert report["dry_run"] and report["bytes_created"] == [
        "ops/deploy/rollback.md",
        "ops/deploy/checklist.md",
    ]
    assert not Module.objects.filter(workspace=empty).exists()

    done = _upload(owner, empty.pk, data)
    assert done.status_code == 200 and not done.json()["dry_run"]
    assert Byte.objects.filter(module__workspace=empty).count() == 2
    assert _upload(owner, empty.pk, data).json()["unchanged"] == 4
    assert (
        client_for(team["viewer"]).get(f"/api/workspaces/{team['workspace'].pk}/export/").status_code == 200
    )
    assert _upload(client_for(team["viewer"]), team["workspace"].pk, data).status_code == 403
    assert _upload(client_for(team["outsider"]), team["workspace"].pk, data).status_code == 404


def test_import_with_delete_removes_what_the_folder_lacks(team):
    files = export_files(team["workspace"])
    del files["ops/deploy/checklist.md"]
    report = import_files(workspace=team["workspace"], user=team["owner"], files=files, delete=True)
    assert report.bytes_deleted == ["ops/deploy/checklist.md"]
    assert not Byte.objects.filter(pk=team["checklist"].pk).exists()


def _good() -> dict[str, bytes]:
    return {"_index.md": b'---\nformat: 1\nmodules: ["a"]\n---\n', "a/note.md": b"---\ntitle: Note\n---\nhi"}


HOSTILE = {
    "dot-dot path": (_zip({**_good(), "../evil.md": b"x"}), "'..' is not allowed"),
    "absolute path": (_zip({**_good(), "/etc/evil.md": b"x"}), "absolute"),
    "windows path": (_zip({**_good(), "a\\..\\evil.md": b"x"}), "Windows"),
    "symlink": (_zip(_good(), links=("a/link.md",)), "links are not allowed"),
    "bomb": (_zip({**_good(), "a/bomb.md": b"0" * 30_000_000}), "larger than"),
    "oversize byte": (_zip({**_good(), "a/big.md": b"x" * 70_000}), "at most 65536"),
    "invalid front matter": (
        _zip({**_good(), "a/bad.md": b"---\ntitle: [unclosed\n"}),
        "invalid front matter",
    ),
    "bad front matter line": (_zip({**_good(), "a/bad.md": b"---\n: nope\n---\n"}), "expected 'key: value'"),
    "unknown key": (_zip({**_good(), "a/bad.md": b"---\ntitel: typo\n---\n"}), "unknown front matter key"),
    "bad slug": (_zip({**_good(), "a/Bad Name.md": b"x"}), "is not a slug"),
    "duplicate id": (
        _zip({**_good(), "a/one.md": b'---\nid: "k1"\n---\n', "a/two.md": b'---\nid: "k1"\n---\n'}),
        "is also the id of",
    ),
    "not utf-8": (_zip({**_good(), "a/latin.md": "café".encode("latin-1")}), "not UTF-8"),
    "NUL": (_zip({**_good(), "a/nul.md": b"a\x00b"}), "NUL"),
    "byte at the root": (_zip({**_good(), "loose.md": b"x"}), "bytes live in modules"),
    "not a zip": (b"PK\x03\x04 definitely not", "Not a zip file"),
}


@pytest.mark.parametrize("case", HOSTILE, ids=list(HOSTILE))
def test_hostile_zips_are_refused_whole(team, client_for, settings, case):
    settings.KB_IMPORT_MAX_UNPACKED_BYTES = 10_000_000
    data, message = HOSTILE[case]
    before = (_state(team["workspace"]), Module.objects.count(), Event.objects.count())
    response = _upload(client_for(team["owner"]), team["workspace"].pk, data)
    assert response.status_code == 400
    assert any(message in error for error in response.json()["errors"]), response.json()
    assert (_state(team["workspace"]), Module.objects.count(), Event.objects.count()) == before


def test_a_slug_clash_rolls_back_the_whole_import(team, empty):
    files = export_files(team["workspace"])
    files["ops/deploy/zz-new.md"] = b"---\ntitle: New\n---\nbody"
    # Rename checklist onto rollback's slug: the services refuse it, and the new byte goes too.
    files["ops/deploy/rollback.md"], files["ops/deploy/checklist.md"] = (
        files["ops/deploy/checklist.md"],
        files["ops/deploy/rollback.md"],
    )
    with pytest.raises(ImportRefused, match="already exists"):
        import_files(workspace=team["workspace"], user=team["owner"], files=files)
    assert not Byte.objects.filter(slug="zz-new").exists()


def test_cli_reports_refusals_clearly(team, tmp_path):
    folder = tmp_path / "kb"
    (folder / "a").mkdir(parents=True)
    (folder / "a" / "ok.md").write_text("fine")
    (folder / "a" / "link.md").symlink_to("/etc/hostname")
    with pytest.raises(CommandError, match="links and special files are not allowed"):
        call_command("kb_import", str(folder), workspace=str(team["workspace"].pk), stdout=io.StringIO())
    assert not Module.objects.filter(slug="a").exists()
    with pytest.raises(CommandError, match="No workspace"):
        call_command("kb_export", "nope", str(tmp_path / "out"))


def test_zip_wrapped_in_one_folder_is_accepted():
    files = read_zip(_zip({f"export/{name}": data for name, data in _good().items()}))
    assert set(files) == {"_index.md", "a/note.md"}


# --- property: export -> import into an empty workspace -> export is byte-identical ----------

slugs = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,8}", fullmatch=True)
texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=60)
titles = texts.filter(lambda title: title.strip() != "").map(lambda title: title[:200])
contents = st.one_of(texts, st.just(""), texts.map(lambda text: f"---\ntitle: {text}\n---\n{text}"))
tags = st.lists(st.from_regex(r"[a-z0-9][a-z0-9.+#-]{0,6}", fullmatch=True), max_size=3)
byte_lists = st.lists(st.tuples(slugs, titles, contents, tags), max_size=3, unique_by=lambda item: item[0])
trees = st.recursive(
    st.fixed_dictionaries({"bytes": byte_lists, "children": st.just([])}),
    lambda inner: st.fixed_dictionaries(
        {
            "bytes": byte_lists,
            "children": st.lists(st.tuples(slugs, texts, inner), max_size=3, unique_by=lambda c: c[0]),
        }
    ),
    max_leaves=6,
)


def _build(workspace, user, tree: dict, parent=None) -> None:
    for slug, description, child in tree["children"]:
        module = kb.module_create(
            workspace=workspace, name=slug.upper(), slug=slug, parent=parent, description=description
        )
        for byte_slug, title, content, byte_tags in child["bytes"]:
            kb.byte_create(
                module=module, user=user, title=title, content=content, slug=byte_slug, tags=byte_tags
            )
        _build(workspace, user, child, module)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=trees)
def test_round_trip_property(team, tree):
    user = team["owner"]
    source = kb.workspace_create(user=user, name="Source")
    _build(source, user, {"bytes": [], "children": tree["children"]})
    first = export_files(source)
    target = kb.workspace_create(user=user, name="Target")
    import_files(workspace=target, user=user, files=first)
    assert export_files(target) == first
    assert not import_files(workspace=target, user=user, files=first).changed


def test_export_folder_removes_stale_files_but_keeps_git(team, tmp_path):
    folder = tmp_path / "repo"
    (folder / ".git").mkdir(parents=True)
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main")
    (folder / "gone").mkdir()
    (folder / "gone" / "old.md").write_text("stale")
    call_command("kb_export", str(team["workspace"].pk), str(folder), stdout=io.StringIO())
    assert not (folder / "gone").exists() and (folder / ".git" / "HEAD").exists()
    assert Path(folder / "ops/deploy/rollback.md").read_text().startswith('---\nid: "')


def test_total_unpacked_size_is_capped(settings):
    settings.KB_IMPORT_MAX_UNPACKED_BYTES = 1000
    entries = {**_good(), **{f"a/n{number}.md": b"y" * 400 for number in range(3)}}
    with pytest.raises(ImportRefused, match="Unpacked, the zip is larger than 1000 bytes"):
        read_zip(_zip(entries))


def test_import_responses_match_the_schema(team, empty, client_for):
    from tests.bytes_app.test_schema import _check

    owner = client_for(team["owner"])
    schema = owner.get("/api/schema/?format=json").json()
    url = f"/api/workspaces/{empty.pk}/import/"
    _check(schema, "post", url, _upload(owner, empty.pk, _zip(_good())))
    _check(schema, "post", url, _upload(owner, empty.pk, b"junk"))
    export = schema["paths"]["/api/workspaces/{workspace_pk}/export/"]["get"]["responses"]["200"]
    assert "application/zip" in export["content"]


def test_deep_trees_and_windows_line_endings(team, empty):
    parent = None
    for depth in range(12):
        parent = kb.module_create(workspace=team["workspace"], name=f"Level {depth}", parent=parent)
    kb.byte_create(module=parent, user=team["owner"], title="Bottom", content="deep\r\ndown\r\n")
    files = export_files(team["workspace"])
    import_files(workspace=empty, user=team["owner"], files=files)
    assert export_files(empty) == files
    assert any(name.count("/") == 12 for name in files)

    crlf = {**_good(), "a/win.md": b'---\r\ntitle: Windows\r\ntags: ["x"]\r\n---\r\nline\r\n'}
    report = import_files(workspace=empty, user=team["owner"], files=crlf)
    byte = Byte.objects.get(module__workspace=empty, slug="win")
    assert (byte.title, byte.content) == ("Windows", "line\r\n") and "a/win.md" in report.bytes_created


def test_malformed_import_requests_are_400s(team, client_for):
    owner = client_for(team["owner"])
    url = f"/api/workspaces/{team['workspace'].pk}/import/"
    missing = owner.post(url, {}, format="multipart")
    assert missing.status_code == 400 and missing.json() == {"errors": ["file: No file was submitted."]}
    assert _upload(owner, team["workspace"].pk, _zip(_good()), dry_run="maybe").status_code == 400
    assert owner.post(url, {"file": "not a file"}, format="multipart").status_code == 400
    assert owner.post(url, {"x": 1}, format="json").status_code == 415
    assert not Module.objects.filter(slug="a").exists()
