"""Live co-editing in real browsers: two users, cursors and presence, offline and back,
REST changes and restores showing up without a reload."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from bytes_app import services
from bytes_app.models import Byte

from .conftest import editor_text, module_url, url_of

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(predicate, timeout: float = 10.0, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}")


def type_at(page, where: str, text: str) -> None:
    page.locator(".cm-content").click()
    page.keyboard.press("Control+Home" if where == "start" else "Control+End")
    page.keyboard.type(text, delay=15)


# True once an update holding `needle` (UTF-8, as Yjs encodes inserted text) is in one of the
# page's y-indexeddb databases: y-indexeddb writes in the background after each change.
STORED_ON_DEVICE_JS = """async (needle) => {
  const open = (name) => new Promise((ok, fail) => {
    const request = indexedDB.open(name)
    request.onsuccess = () => ok(request.result)
    request.onerror = () => fail(request.error)
  })
  const decoder = new TextDecoder()
  for (const { name } of await indexedDB.databases()) {
    if (!name.startsWith('kb:')) continue
    const db = await open(name)
    try {
      if (!db.objectStoreNames.contains('updates')) continue
      const updates = await new Promise((ok, fail) => {
        const request = db.transaction('updates').objectStore('updates').getAll()
        request.onsuccess = () => ok(request.result)
        request.onerror = () => fail(request.error)
      })
      if (updates.some((update) => decoder.decode(update).includes(needle))) return true
    } finally {
      db.close()
    }
  }
  return false
}"""


def stored_on_device(page, needle: str) -> bool:
    return page.evaluate(STORED_ON_DEVICE_JS, needle)


def expect_saved(page) -> None:
    expect(page.locator(".connection")).to_have_attribute("data-state", "saved", timeout=10_000)


def test_two_users_edit_one_byte_and_see_each_other(team, open_as, rest, artifacts):
    byte = team["byte"]
    olive = open_as(team["owner"], url_of(byte))
    eddie = open_as(team["editor"], url_of(byte))
    for page in (olive, eddie):
        expect(page.locator(".cm-content")).to_contain_text("Run `kb rollback`")

    type_at(olive, "end", "\nOlive adds a line.")
    type_at(eddie, "start", "Eddie was first. ")

    def same_text() -> bool:
        return editor_text(olive) == editor_text(eddie)

    wait_for(same_text, message="both editors to show the same text")
    final = editor_text(olive)
    assert final.startswith("Eddie was first. Run `kb rollback`.")
    assert final.endswith("\nOlive adds a line.")
    assert final.count("Olive adds a line.") == 1 and final.count("Eddie was first.") == 1

    # Each sees the other's caret with a name label, and the other's avatar.
    expect(olive.locator(".cm-ySelectionInfo", has_text="eddie")).to_be_visible()
    expect(eddie.locator(".cm-ySelectionInfo", has_text="olive")).to_be_visible()
    expect(olive.locator(".presence [data-user='eddie']")).to_be_visible()
    expect(eddie.locator(".presence [data-user='olive']")).to_be_visible()

    # "Saved" is the server's acknowledgement, and the stored content agrees.
    expect_saved(olive)
    expect_saved(eddie)
    api = rest(team["owner"])
    wait_for(lambda: api.call("GET", f"/api/bytes/{byte.pk}/")["content"] == final, message="REST content")

    olive.screenshot(path=str(artifacts / "two-users-olive.png"))
    eddie.screenshot(path=str(artifacts / "two-users-eddie.png"))


def test_offline_edits_merge_when_back(team, open_as, rest):
    byte = team["byte"]
    olive = open_as(team["owner"], url_of(byte))
    eddie = open_as(team["editor"], url_of(byte))
    for page in (olive, eddie):
        expect(page.locator(".cm-content")).to_contain_text("Run `kb rollback`")
        expect_saved(page)

    eddie.context.set_offline(True)
    expect(eddie.locator(".connection")).to_have_attribute("data-state", "offline")
    type_at(eddie, "start", "OFFLINE-EDIT ")
    type_at(olive, "end", " ONLINE-EDIT")
    expect(eddie.locator(".connection")).to_contain_text("edits kept")
    # Once the server has stored olive's edit it has also relayed it to every socket in the
    # room: an offline tab that still had one would show it by now.
    expect_saved(olive)
    assert "OFFLINE-EDIT" not in editor_text(olive)
    assert "ONLINE-EDIT" not in editor_text(eddie)

    eddie.context.set_offline(False)
    wait_for(lambda: editor_text(olive) == editor_text(eddie), message="convergence after reconnecting")
    final = editor_text(olive)
    assert final.count("OFFLINE-EDIT") == 1 and final.count("ONLINE-EDIT") == 1
    assert final.count("Run `kb rollback`") == 1, "nothing doubled"
    expect_saved(eddie)
    expect_saved(olive)
    api = rest(team["owner"])
    wait_for(lambda: api.call("GET", f"/api/bytes/{byte.pk}/")["content"] == final, message="REST content")


def test_offline_edits_survive_a_reload_and_leaving_warns(team, open_as, rest, console):
    byte = team["byte"]
    api = rest(team["owner"])
    # The page's sockets pass through a switch: once it is off they never reach the server,
    # so the edit below can only survive the reload in the browser's own storage.
    server_reachable = True

    def socket(ws) -> None:
        if server_reachable:
            ws.connect_to_server()
        else:
            ws.close()

    eddie = open_as(team["editor"], "/")
    eddie.route_web_socket(re.compile(r"/ws/"), socket)
    eddie.goto(eddie.url.rstrip("/").rsplit("/w/", 1)[0] + url_of(byte))
    expect(eddie.locator(".cm-content")).to_contain_text("Run `kb rollback`")
    expect_saved(eddie)
    server_reachable = False
    eddie.context.set_offline(True)
    expect(eddie.locator(".connection")).to_have_attribute("data-state", "offline")
    eddie.locator(".cm-content").click()
    eddie.keyboard.press("Control+End")
    eddie.keyboard.insert_text(" KEPT-ON-DEVICE")  # one update, so its text is stored in one piece
    wait_for(lambda: stored_on_device(eddie, "KEPT-ON-DEVICE"), message="y-indexeddb to store the edit")
    eddie.context.set_offline(False)

    dialogs = []
    eddie.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.accept()))
    eddie.reload()
    assert dialogs == ["beforeunload"], "leaving with unsaved edits warns"
    expect(eddie.locator(".cm-content")).to_contain_text("KEPT-ON-DEVICE")
    assert "KEPT-ON-DEVICE" not in api.call("GET", f"/api/bytes/{byte.pk}/")["content"]

    # Close it (its edit now lives only in IndexedDB) and open the byte again, connected.
    url, context = eddie.url, eddie.context
    eddie.close()
    again = context.new_page()
    console.watch(again, "eddie (new tab)")
    again.goto(url)
    expect(again.locator(".cm-content")).to_contain_text("KEPT-ON-DEVICE")
    expect_saved(again)
    wait_for(
        lambda: api.call("GET", f"/api/bytes/{byte.pk}/")["content"].count("KEPT-ON-DEVICE") == 1,
        message="the offline edit to reach the server once",
    )


def test_byte_created_renamed_and_deleted_through_rest_shows_live(team, open_as, rest):
    deploy = team["deploy"]
    page = open_as(team["viewer"], module_url(deploy))
    expect(page.locator(".byte-card")).to_have_count(2)
    api = rest(team["editor"])

    content = "## Canary\n\n> Ship to 1%: `make ship PCT=<n>`, then tell #ops."
    created = api.call("POST", "/api/bytes/", {"module": deploy.pk, "title": "Canary", "content": content})
    card = page.locator(".byte-card", has_text="Canary")
    expect(card).to_be_visible()
    # The card's excerpt drops markdown's marks, not the text's own # and > characters.
    expect(card).to_contain_text("Canary Ship to 1%: make ship PCT=<n>, then tell #ops.")

    api.call("PATCH", f"/api/bytes/{created['id']}/", {"title": "Canary release"})
    expect(page.locator(".byte-card", has_text="Canary release")).to_be_visible()

    api.call("DELETE", f"/api/bytes/{created['id']}/")
    expect(page.locator(".byte-card", has_text="Canary")).to_have_count(0)
    expect(page.locator(".byte-card")).to_have_count(2)


def test_restore_from_history_shows_live_for_the_other_user(team, open_as):
    byte = services.byte_create(
        module=team["ops"], user=team["owner"], title="Oncall", content="First words."
    )
    services.byte_update(byte=byte, user=team["editor"], content="Rewritten by eddie.")
    byte = Byte.objects.select_related("module").get(pk=byte.pk)
    olive = open_as(team["owner"], url_of(byte))
    eddie = open_as(team["editor"], url_of(byte))
    expect(eddie.locator(".cm-content")).to_contain_text("Rewritten by eddie.")

    olive.get_by_role("button", name="History").click()
    history = olive.get_by_role("complementary", name="History")
    history.get_by_role("button", name=re.compile(r"v1\b.*created by olive")).click()
    expect(history.locator(".diff-add")).to_contain_text("Rewritten by eddie.")
    expect(history.locator(".diff-del")).to_contain_text("First words.")
    history.get_by_role("button", name="Restore v1").click()
    olive.get_by_role("dialog").get_by_role("button", name="Restore").click()

    expect(eddie.locator(".cm-content")).to_have_text("First words.")
    expect(eddie.locator(".preview")).to_contain_text("First words.")
    expect(olive.locator(".cm-content")).to_have_text("First words.")
    expect(history.get_by_role("button", name=re.compile(r"restored by olive"))).to_be_visible()


def test_undo_takes_back_only_your_own_edits(team, open_as):
    byte = team["checklist"]  # "1. breathe"
    olive = open_as(team["owner"], url_of(byte))
    eddie = open_as(team["editor"], url_of(byte))
    for page in (olive, eddie):
        expect(page.locator(".cm-content")).to_contain_text("1. breathe")
    type_at(olive, "end", " OLIVE")
    wait_for(lambda: "OLIVE" in editor_text(eddie), message="olive's edit at eddie's")
    type_at(eddie, "start", "EDDIE ")
    wait_for(lambda: "EDDIE" in editor_text(olive), message="eddie's edit at olive's")

    olive.locator(".cm-content").click()
    olive.keyboard.press("Control+z")
    wait_for(
        lambda: editor_text(olive) == editor_text(eddie) == "EDDIE 1. breathe", message="undo of olive's edit"
    )
    olive.keyboard.press("Control+y")
    wait_for(lambda: editor_text(eddie) == "EDDIE 1. breathe OLIVE", message="redo")
