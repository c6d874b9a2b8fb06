"""The wiki around the editor: signing in, roles, sanitized preview, search, links, the
module tree and the phone layout."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from bytes_app import services

from .conftest import editor_text, module_url, set_password, url_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_sign_in_with_a_wrong_then_right_password_and_out(team, browser, server, console):
    set_password(team["editor"], "correct horse battery")
    context = browser.new_context()
    page = context.new_page()
    console.watch(page, "anonymous")
    page.goto(server.http + "/")
    page.get_by_label("Username").fill("eddie")
    console.expect("status of 401")  # the browser logs the refused sign-in request
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")

    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Platform")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/w/{team['workspace'].pk}$"))
    expect(page.get_by_role("navigation", name="Modules")).to_contain_text("Ops")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    context.close()


def test_viewer_sees_live_changes_but_cannot_edit(team, open_as):
    byte = team["byte"]
    vera = open_as(team["viewer"], url_of(byte))
    eddie = open_as(team["editor"], url_of(byte))
    expect(vera.get_by_role("note")).to_contain_text("Read-only")
    expect(vera.locator(".cm-content")).to_have_attribute("contenteditable", "false")
    expect(vera.get_by_role("textbox", name="Title")).to_have_count(0)
    expect(vera.locator(".connection")).to_have_text(re.compile("Live"))

    before = editor_text(vera)
    vera.locator(".cm-content").click()
    vera.keyboard.type("viewer typing")
    vera.keyboard.press("Backspace")
    assert editor_text(vera) == before

    eddie.locator(".cm-content").click()
    eddie.keyboard.press("Control+End")
    eddie.keyboard.type(" Seen by vera.")
    expect(vera.locator(".cm-content")).to_contain_text("Seen by vera.")
    assert "viewer typing" not in editor_text(eddie)


def test_script_and_javascript_links_in_content_stay_inert(team, open_as, console):
    console.expect("status of 404")  # the payload's picture does not exist, on purpose
    payload = (
        "# Careful\n\n<script>window.__xss = 'script'</script>\n\n"
        '<img src="/static/none.png" onerror="window.__xss = \'onerror\'">\n\n'
        "[click me](javascript:window.__xss='link')\n\n"
        '<a href="javascript:window.__xss=\'anchor\'" id="raw">raw anchor</a>\n\n'
        "<iframe src=\"javascript:window.parent.__xss='iframe'\"></iframe>\n\n"
        "<svg><a href=\"javascript:window.__xss='svg'\"><text>svg</text></a></svg>\n\n"
        "[mixed case](JaVaScRiPt:window.__xss='mixed') and [data](data:text/html,<script>1</script>)\n\n"
        '![broken picture](/static/none.png "x\\" onerror=\\"window.__xss=\'title\'")\n\n'
        "Plain **bold** stays."
    )
    byte = services.byte_create(module=team["deploy"], user=team["owner"], title="Hostile", content=payload)
    page = open_as(team["owner"], url_of(byte))
    preview = page.locator(".preview")
    expect(preview.locator("strong")).to_have_text("bold")
    expect(preview.get_by_role("heading", name="Careful")).to_be_visible()
    assert preview.locator("script, iframe, svg").count() == 0
    for anchor in preview.locator("a").all():
        assert not re.match(r"\s*(javascript|data):", anchor.get_attribute("href") or "", re.I)
    assert preview.locator("[onerror]").count() == 0
    expect(preview).to_contain_text("<script>window.__xss = 'script'</script>")  # shown, as text
    expect(preview).to_contain_text('<img src="/static/none.png" onerror=')
    # The markdown picture is the only image; once its load has failed, a handler would have run.
    picture = preview.get_by_role("img", name="broken picture")
    expect(picture).to_have_count(1)
    picture.evaluate("img => img.complete || new Promise(done => img.addEventListener('error', done))")
    preview.get_by_text("click me").click()
    preview.get_by_text("mixed case").click()
    assert page.evaluate("window.__xss") is None
    expect(page).to_have_url(re.compile(url_of(byte) + "$"))


def test_search_finds_a_byte_from_the_keyboard(team, open_as):
    page = open_as(team["owner"], f"/w/{team['workspace'].pk}")
    expect(page.get_by_role("heading", name="Platform")).to_be_visible()
    page.keyboard.press("/")
    expect(page.get_by_role("combobox", name="Search bytes")).to_be_focused()
    page.keyboard.type("rollb")
    option = page.get_by_role("option", name=re.compile("Rollback"))
    expect(option).to_be_visible()
    titles = page.get_by_role("option").locator(".result-title").all_inner_texts()
    assert titles[0] == "Rollback" and "Hidden" not in titles  # best first; not another team's
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(url_of(team["byte"]) + "$"))
    expect(page.locator(".cm-content")).to_contain_text("Run `kb rollback`")

    page.keyboard.press("Control+k")
    page.keyboard.type("no-such-word")
    expect(page.locator(".search-results")).to_contain_text("No byte matches")


def test_links_are_clickable_backlinks_listed_and_broken_links_shown(team, open_as):
    byte = team["byte"]  # "Run `kb rollback`. See [[checklist]]."
    services.byte_update(byte=byte, user=team["owner"], content="See [[checklist]] and [[ops/nowhere/gone]].")
    page = open_as(team["owner"], url_of(byte))
    preview = page.locator(".preview")
    expect(preview.locator("a.wikilink.broken")).to_have_text("ops/nowhere/gone")
    expect(page.locator(".broken-links")).to_contain_text("[[ops/nowhere/gone]]")
    preview.get_by_role("link", name="checklist").click()
    expect(page).to_have_url(re.compile(url_of(team["checklist"]) + "$"))
    expect(page.locator(".cm-content")).to_contain_text("1. breathe")
    backlinks = page.locator(".backlinks")
    expect(backlinks).to_contain_text("Rollback")
    backlinks.get_by_role("link", name="Rollback").click()
    expect(page).to_have_url(re.compile(url_of(byte) + "$"))


def test_module_tree_create_rename_move_and_delete(team, open_as):
    page = open_as(team["owner"], module_url(team["ops"]))
    tree = page.get_by_role("navigation", name="Modules")
    tree.get_by_role("button", name="New module").click()
    page.get_by_role("dialog").get_by_label("Name").fill("Runbooks")
    page.get_by_role("dialog").get_by_role("button", name="Create").click()
    expect(page.locator(".module-overview h1")).to_have_text("Runbooks")
    expect(tree.get_by_role("link", name="Runbooks")).to_be_visible()

    tree.get_by_role("button", name="Actions for module Runbooks").click()
    page.get_by_role("menuitem", name="Rename…").click()
    page.get_by_role("dialog").get_by_label("Name").fill("Playbooks")
    page.get_by_role("dialog").get_by_role("button", name="Rename").click()
    expect(tree.get_by_role("link", name="Playbooks")).to_be_visible()

    tree.get_by_role("button", name="Actions for module Playbooks").click()
    page.get_by_role("menuitem", name="Move to…").click()
    page.get_by_role("dialog").get_by_label("New place").select_option(label="\u00a0\u00a0Ops")
    page.get_by_role("dialog").get_by_role("button", name="Move").click()
    expect(page.locator(".crumbs")).to_contain_text("Ops")
    # Drag it back to the top level.
    tree.get_by_role("link", name="Playbooks").drag_to(tree.locator(".tree-header"))
    expect(page.locator(".toasts")).to_contain_text("Moved")
    expect(page.locator(".crumbs")).not_to_contain_text("Ops")

    page.get_by_role("button", name="New byte").click()
    page.get_by_role("dialog").get_by_label("Title").fill("Pager duty")
    page.get_by_role("dialog").get_by_role("button", name="Create").click()
    expect(page.get_by_role("textbox", name="Title")).to_have_value("Pager duty")
    page.locator(".cm-content").click()
    page.keyboard.type("Carry the pager.")
    expect(page.locator(".connection")).to_have_attribute("data-state", "saved")

    tree.get_by_role("button", name="Actions for module Playbooks").click()
    page.get_by_role("menuitem", name="Delete…").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete module").click()
    expect(tree.get_by_role("link", name="Playbooks")).to_have_count(0)


def test_title_and_tags_edit(team, open_as):
    byte = team["byte"]
    page = open_as(team["owner"], url_of(byte))
    other = open_as(team["editor"], module_url(team["deploy"]))
    title = page.get_by_role("textbox", name="Title")
    title.fill("Rollback safely")
    title.press("Enter")
    expect(other.locator(".byte-card", has_text="Rollback safely")).to_be_visible()
    tag = page.get_by_role("textbox", name="Add a tag")
    tag.fill("oncall")
    tag.press("Enter")
    expect(page.locator(".tags")).to_contain_text("#oncall")
    page.get_by_role("button", name="Remove tag howto").click()
    expect(page.locator(".tags")).not_to_contain_text("#howto")
    byte.refresh_from_db()
    assert byte.title == "Rollback safely"
    assert sorted(byte.tags.values_list("name", flat=True)) == ["oncall"]


def test_phone_width_collapses_the_sidebar(team, open_as):
    page = open_as(
        team["owner"], url_of(team["byte"]), viewport={"width": 390, "height": 844}, has_touch=True
    )
    expect(page.locator(".cm-content")).to_contain_text("Run `kb rollback`")
    sidebar = page.get_by_role("complementary", name="Workspace navigation")
    expect(sidebar).not_to_be_in_viewport()
    page.get_by_role("button", name="Open navigation").click()
    expect(sidebar).to_be_in_viewport()
    sidebar.get_by_role("link", name="Checklist").click()
    expect(page).to_have_url(re.compile(url_of(team["checklist"]) + "$"))
    expect(sidebar).not_to_be_in_viewport()
