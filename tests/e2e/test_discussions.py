"""Live discussions in real browsers: comment threads on a byte (anchored to a passage or not),
@mentions reaching the inbox, replies, the module chat with typing notices, who is online,
idempotent sends and the server's refusals shown to the user."""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import expect

from .conftest import editor_text, module_url, url_of

pytestmark = pytest.mark.django_db(transaction=True)

# The editor's first passage in the team fixture's byte ("Run `kb rollback`. See [[checklist]].").
PASSAGE = "Run `kb rollback`"


def wait_for(predicate, timeout: float = 10.0, message: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {message}")


def open_discussion(page):
    """The byte's discussion panel, opened and loaded."""
    expect(page.locator(".cm-content")).to_contain_text(PASSAGE)
    toggle = page.get_by_test_id("discussion-toggle")
    if toggle.get_attribute("aria-pressed") != "true":
        toggle.click()
    panel = page.get_by_test_id("discussion-panel")
    expect(panel).to_be_visible()
    expect(panel.get_by_text("Loading…")).to_have_count(0)
    return panel


def start_thread(page, body: str) -> None:
    """Press "Comment" (on the editor's selection, if any), write `body`, send it."""
    panel = page.get_by_test_id("discussion-panel")
    panel.get_by_test_id("comment-button").click()
    composer = panel.get_by_test_id("new-thread-composer")
    composer.get_by_label("New comment").fill(body)
    composer.get_by_role("button", name="Comment").click()


def select_in_editor(page, skip: int, length: int) -> None:
    """Select `length` characters after the first `skip` of the editor's text."""
    page.locator(".cm-content").click()
    page.keyboard.press("Control+Home")
    for _ in range(skip):
        page.keyboard.press("ArrowRight")
    for _ in range(length):
        page.keyboard.press("Shift+ArrowRight")


def badge(page):
    return page.get_by_test_id("inbox-button").get_by_test_id("inbox-badge")


def test_mention_reaches_the_other_live_and_in_the_inbox_and_the_reply_comes_back(
    team, open_as, rest, server, artifacts
):
    byte = team["byte"]
    olive = open_as(team["owner"], url_of(byte))
    eddie = open_as(team["editor"], url_of(byte))
    olive_panel = open_discussion(olive)
    eddie_panel = open_discussion(eddie)
    expect(eddie_panel.get_by_text("No comments yet.")).to_be_visible()
    expect(badge(eddie)).to_have_count(0)

    start_thread(olive, "Can @eddie check the rollback steps?")
    thread = olive_panel.get_by_test_id("thread")
    expect(thread).to_have_count(1)
    expect(thread.get_by_test_id("comment")).to_contain_text("Can @eddie check the rollback steps?")
    expect(olive_panel.get_by_test_id("pending")).to_have_count(0)

    # eddie sees it without a reload, his name highlighted, and the inbox badge.
    seen = eddie_panel.get_by_test_id("thread")
    expect(seen).to_have_count(1)
    expect(seen.get_by_test_id("comment")).to_contain_text("Can @eddie check the rollback steps?")
    expect(seen.locator(".mention[data-mention='eddie']")).to_have_text("@eddie")
    expect(seen.get_by_test_id("thread-quote")).to_have_count(0)  # on the whole byte
    expect(eddie.get_by_test_id("open-threads")).to_have_text("1")
    expect(badge(eddie)).to_have_text("1")

    # The inbox lists it, unread; opening it goes to the thread and marks it read.
    eddie.get_by_test_id("inbox-button").click()
    items = eddie.get_by_test_id("inbox-item")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("olive mentioned you")
    expect(items.first).to_have_attribute("data-read", "false")
    eddie.screenshot(path=str(artifacts / "inbox-eddie.png"))
    items.first.click()
    expect(eddie).to_have_url(f"{server.http}{url_of(byte)}#thread-{thread.get_attribute('data-thread-id')}")
    expect(badge(eddie)).to_have_count(0)
    eddie_panel = open_discussion(eddie)

    # eddie replies; olive sees the reply live, and is told in her inbox.
    reply_box = eddie_panel.get_by_test_id("reply-composer")
    reply_box.get_by_role("textbox").fill("On it: the second step needs sudo.")
    reply_box.get_by_role("button", name="Reply").click()
    expect(eddie_panel.get_by_test_id("comment")).to_have_count(2)
    comments = olive_panel.get_by_test_id("thread").get_by_test_id("comment")
    expect(comments).to_have_count(2)
    expect(comments.nth(1)).to_contain_text("On it: the second step needs sudo.")
    expect(comments.nth(1)).to_contain_text("eddie")
    expect(badge(olive)).to_have_text("1")

    # Stored once each, as the REST API tells an integration.
    threads = rest(team["owner"]).call("GET", f"/api/bytes/{byte.pk}/threads/")["results"]
    assert [len(item["comments"]) for item in threads] == [2]


def test_a_thread_on_a_selected_passage_shows_its_quote_and_follows_the_text(team, open_as):
    byte = team["byte"]
    olive = open_as(team["owner"], url_of(byte))
    eddie = open_as(team["editor"], url_of(byte))
    olive_panel = open_discussion(olive)
    eddie_panel = open_discussion(eddie)

    select_in_editor(olive, 0, len(PASSAGE))
    start_thread(olive, "Is this still the command?")
    quote = olive_panel.get_by_test_id("thread-quote")
    expect(quote).to_have_text(PASSAGE)
    expect(quote).to_have_attribute("data-state", "placed")
    expect(olive.locator(".cm-passage")).to_have_text(PASSAGE)
    expect(eddie_panel.get_by_test_id("thread-quote")).to_have_text(PASSAGE)

    # Text typed before it moves the anchor along; the passage stays the same.
    olive.locator(".cm-content").click()
    olive.keyboard.press("Control+Home")
    olive.keyboard.type("First: ")
    wait_for(lambda: editor_text(eddie).startswith("First: Run"), message="eddie to see the new text")
    expect(eddie_panel.get_by_test_id("thread-quote")).to_have_text(PASSAGE)
    expect(eddie.locator(".cm-passage")).to_have_text(PASSAGE)

    # Deleting the passage detaches the thread, for everyone.
    select_in_editor(olive, len("First: "), len(PASSAGE))
    olive.keyboard.press("Backspace")
    for page in (olive, eddie):
        expect(page.get_by_test_id("thread-quote")).to_have_attribute("data-state", "detached")
        expect(page.get_by_test_id("thread-quote")).to_contain_text("detached")


def test_module_chat_is_live_with_typing_and_presence(team, open_as, artifacts):
    deploy = team["deploy"]
    olive = open_as(team["owner"], module_url(deploy))
    eddie = open_as(team["editor"], module_url(deploy))
    for page in (olive, eddie):
        expect(page.get_by_test_id("chat-panel").get_by_text("No messages yet.", exact=False)).to_be_visible()
        online = page.get_by_test_id("online-users")
        expect(online.locator("[data-user='olive']")).to_be_visible()
        expect(online.locator("[data-user='eddie']")).to_be_visible()

    box = eddie.get_by_test_id("chat-composer").get_by_role("textbox")
    box.click()
    box.type("Deploying at 5", delay=20)
    expect(olive.get_by_test_id("chat-panel").get_by_test_id("typing")).to_have_text("eddie is typing…")
    olive.screenshot(path=str(artifacts / "chat-typing-olive.png"))
    box.press("Enter")
    message = olive.get_by_test_id("chat-message")
    expect(message).to_have_count(1)
    expect(message).to_contain_text("Deploying at 5")
    expect(eddie.get_by_test_id("chat-message")).to_have_count(1)
    expect(olive.get_by_test_id("chat-panel").get_by_test_id("typing")).to_have_text("")

    # eddie leaves: olive sees him go offline.
    eddie.context.close()
    expect(olive.get_by_test_id("online-users").locator("[data-user='eddie']")).to_have_count(0)


def test_a_send_whose_answer_is_lost_is_retried_once_and_stored_once(team, open_as, rest, console, server):
    byte = team["byte"]
    olive = open_as(team["owner"], "/")
    console.expect("net::ERR_FAILED")
    posted: list[str] = []
    handled: list[bool] = []

    def lose_first_answer(route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        posted.append(route.request.post_data_json["client_id"])
        if len(posted) == 1:
            route.fetch()  # the server stores it…
            route.abort()  # …but the page never hears back
            handled.append(True)
        else:
            route.continue_()

    def without_thread_events(ws) -> None:
        # The live event would tell the page its thread is stored: only the retry may.
        upstream = ws.connect_to_server()
        upstream.on_message(lambda message: None if '"thread.created"' in str(message) else ws.send(message))

    olive.route("**/api/bytes/*/threads/", lose_first_answer)
    olive.route_web_socket(re.compile(r"/ws/discuss/"), without_thread_events)
    olive.goto(server.http + url_of(byte))
    panel = open_discussion(olive)
    start_thread(olive, "Sent once, whatever the network does.")
    expect(panel.get_by_test_id("pending")).to_contain_text("sending…")
    expect(panel.get_by_test_id("thread")).to_have_count(1)
    expect(panel.get_by_test_id("pending")).to_have_count(0)
    assert handled and len(posted) == 2 and posted[0] == posted[1], "retried with the same client_id"
    threads = rest(team["owner"]).call("GET", f"/api/bytes/{byte.pk}/threads/")["results"]
    assert len(threads) == 1, "stored once"
    assert threads[0]["comments"][0]["client_id"] == posted[0]


def test_the_server_refusal_is_shown_and_the_text_kept(team, open_as, console):
    console.expect("status of 400")
    olive = open_as(team["owner"], url_of(team["byte"]))
    panel = open_discussion(olive)
    start_thread(olive, "Ask @oscar, who is not in this workspace.")
    expect(olive.locator(".toast-error")).to_be_visible()
    expect(panel.get_by_test_id("thread")).to_have_count(0)
    expect(panel.get_by_test_id("new-thread-composer").get_by_label("New comment")).to_have_value(
        "Ask @oscar, who is not in this workspace."
    )


def test_offline_the_page_catches_up_and_its_own_send_goes_once_when_back(
    team, open_as, rest, artifacts, console
):
    byte = team["byte"]
    olive = open_as(team["owner"], url_of(byte))
    eddie = open_as(team["editor"], url_of(byte))
    olive_panel = open_discussion(olive)
    eddie_panel = open_discussion(eddie)
    start_thread(olive, "Before the outage, @eddie.")
    expect(eddie_panel.get_by_test_id("thread")).to_have_count(1)

    # Cutting the network fails whatever request the page has in flight at that moment (e.g.
    # the byte page's links, looked up again shortly after the text loaded): on purpose here.
    console.expect("net::ERR_INTERNET_DISCONNECTED")
    eddie.wait_for_load_state("networkidle")
    eddie.context.set_offline(True)
    # While eddie is away: a reply, and a second thread.
    reply_box = olive_panel.get_by_test_id("reply-composer")
    reply_box.get_by_role("textbox").fill("Missed while offline.")
    reply_box.get_by_role("button", name="Reply").click()
    start_thread(olive, "A second thread, also missed.")
    expect(olive_panel.get_by_test_id("thread")).to_have_count(2)
    # eddie answers offline: kept as "sending…" until he is back.
    eddie_box = eddie_panel.get_by_test_id("reply-composer")
    eddie_box.get_by_role("textbox").fill("Written offline.")
    eddie_box.get_by_role("button", name="Reply").click()
    expect(eddie_panel.get_by_test_id("pending")).to_contain_text("offline")
    expect(eddie_panel.get_by_test_id("thread")).to_have_count(1)

    eddie.context.set_offline(False)
    expect(eddie_panel.get_by_test_id("thread")).to_have_count(2)
    expect(eddie_panel.get_by_test_id("pending")).to_have_count(0)
    first = eddie_panel.get_by_test_id("thread").first.get_by_test_id("comment")
    expect(first).to_have_count(3)
    expect(first.nth(1)).to_contain_text("Missed while offline.")
    expect(first.nth(2)).to_contain_text("Written offline.")
    expect(olive_panel.get_by_test_id("thread").first.get_by_test_id("comment")).to_have_count(3)
    expect(eddie.get_by_test_id("open-threads")).to_have_text("2")
    threads = rest(team["owner"]).call("GET", f"/api/bytes/{byte.pk}/threads/")["results"]
    assert [len(item["comments"]) for item in threads] == [3, 1], "nothing missed, nothing doubled"

    olive.screenshot(path=str(artifacts / "discussion-olive.png"))
    eddie.set_viewport_size({"width": 390, "height": 844})
    expect(eddie.locator("#sidebar")).not_to_be_in_viewport()  # the drawer has slid away
    eddie.screenshot(path=str(artifacts / "discussion-eddie-phone.png"), full_page=True)


def test_viewers_comment_only_when_the_workspace_allows_it(team, open_as, rest):
    byte = team["byte"]
    rest(team["owner"]).call(
        "POST", f"/api/bytes/{byte.pk}/threads/", {"body": "Owner's note.", "client_id": "e2e-1"}
    )
    vera = open_as(team["viewer"], url_of(byte))
    panel = open_discussion(vera)
    expect(panel.get_by_test_id("comment")).to_contain_text("Owner's note.")
    expect(panel.get_by_test_id("comment-button")).to_have_count(0)
    expect(panel.get_by_test_id("reply-composer")).to_have_count(0)

    olive = open_as(team["owner"], f"/w/{team['workspace'].pk}")
    olive.get_by_label("Viewers may comment on bytes and write in module chats").check()
    expect(olive.get_by_label("Viewers may comment on bytes and write in module chats")).to_be_checked()
    wait_for(
        lambda: rest(team["owner"]).call("GET", f"/api/workspaces/{team['workspace'].pk}/")[
            "viewers_can_comment"
        ],
        message="the setting to be stored",
    )

    vera.reload()
    panel = open_discussion(vera)
    reply_box = panel.get_by_test_id("reply-composer")
    reply_box.get_by_role("textbox").fill("A viewer's reply.")
    reply_box.get_by_role("button", name="Reply").click()
    expect(panel.get_by_test_id("comment")).to_have_count(2)
    expect(panel.get_by_test_id("pending")).to_have_count(0)


def test_edit_resolve_and_reopen_show_live(team, open_as):
    byte = team["byte"]
    olive = open_as(team["owner"], url_of(byte))
    eddie = open_as(team["editor"], url_of(byte))
    olive_panel = open_discussion(olive)
    eddie_panel = open_discussion(eddie)
    start_thread(olive, "Rollback takes 5 minutes.")
    expect(eddie_panel.get_by_test_id("comment")).to_contain_text("Rollback takes 5 minutes.")
    # Only the author may edit.
    expect(eddie_panel.get_by_role("button", name="Edit your comment")).to_have_count(0)

    olive_panel.get_by_role("button", name="Edit your comment").click()
    olive_panel.get_by_label("Edit your comment").fill("Rollback takes 10 minutes.")
    olive_panel.get_by_role("button", name="Save").click()
    comment = eddie_panel.get_by_test_id("comment")
    expect(comment).to_contain_text("Rollback takes 10 minutes.")
    expect(comment).to_contain_text("(edited)")

    eddie_panel.get_by_role("button", name="Resolve").click()
    for page in (olive, eddie):
        expect(page.get_by_test_id("open-threads")).to_have_text("0")
        expect(page.get_by_test_id("thread")).to_have_attribute("data-resolved", "true")
        expect(page.get_by_test_id("comment")).not_to_be_visible()  # resolved threads are folded
    olive_panel.get_by_text("Resolved (1)").click()
    olive_panel.get_by_test_id("thread").locator("summary").click()
    expect(olive_panel.get_by_test_id("thread")).to_contain_text("Resolved by eddie")
    olive_panel.get_by_role("button", name="Reopen").click()
    expect(eddie.get_by_test_id("open-threads")).to_have_text("1")
    expect(eddie_panel.get_by_test_id("thread")).to_have_attribute("data-resolved", "false")


def test_a_lost_event_is_fetched_and_a_repeated_one_applied_once(team, open_as, server):
    """The page applies events in the server's order: a gap is filled from the catch-up
    endpoint, and an event heard twice changes nothing."""
    byte = team["byte"]
    olive = open_as(team["owner"], url_of(byte))
    eddie = open_as(team["editor"], "/")
    dropped: list[int] = []

    def discuss(ws) -> None:
        upstream = ws.connect_to_server()

        def from_server(message) -> None:
            data = json.loads(message) if isinstance(message, str) else {}
            if data.get("type") == "event" and data.get("kind") == "comment.created" and not dropped:
                dropped.append(data["seq"])  # lost on the way
                return
            ws.send(message)
            if data.get("type") == "event":
                ws.send(message)  # and every other event arrives twice

        upstream.on_message(from_server)

    eddie.route_web_socket(re.compile(r"/ws/discuss/"), discuss)
    eddie.goto(server.http + url_of(byte))
    olive_panel = open_discussion(olive)
    eddie_panel = open_discussion(eddie)

    start_thread(olive, "One.")
    expect(eddie_panel.get_by_test_id("thread")).to_have_count(1)
    reply_box = olive_panel.get_by_test_id("reply-composer")
    for text in ("Two.", "Three."):
        reply_box.get_by_role("textbox").fill(text)
        reply_box.get_by_role("button", name="Reply").click()
        expect(olive_panel.get_by_test_id("comment").last).to_contain_text(text)
    comments = eddie_panel.get_by_test_id("comment")
    expect(comments).to_have_count(3)
    for i, text in enumerate(("One.", "Two.", "Three.")):
        expect(comments.nth(i)).to_contain_text(text)
    assert dropped, "an event was dropped on the way"
    expect(eddie_panel.get_by_test_id("thread")).to_have_count(1)
