"""Discussions through REST: threads, replies, edits, resolve, chat, catch-up, inbox, mentions."""

from __future__ import annotations

import base64
import threading

import pytest
from django.db import connection
from pycrdt import Assoc, Doc, Text

from bytes_app import services as byte_services
from collab import store
from discussions.models import Comment, Event, InboxItem

pytestmark = pytest.mark.django_db


def post_thread(client, byte, body, **extra):
    return client.post(f"/api/bytes/{byte.pk}/threads/", {"body": body, **extra}, format="json")


def test_thread_reply_edit_resolve_in_sequence(team, client_for):
    olive, eddie = client_for(team["owner"]), client_for(team["editor"])
    made = post_thread(eddie, team["byte"], "Is this still true?", client_id="c1")
    assert made.status_code == 201, made.json()
    thread = made.json()
    assert thread["comments"][0]["body"] == "Is this still true?"
    assert thread["created_by"]["username"] == "eddie" and thread["anchor"] is None

    reply = olive.post(
        f"/api/threads/{thread['id']}/comments/", {"body": "Yes.", "client_id": "r1"}, format="json"
    )
    assert reply.status_code == 201
    edited = olive.patch(
        f"/api/comments/{reply.json()['id']}/", {"body": "Yes, checked today."}, format="json"
    )
    assert edited.status_code == 200 and edited.json()["edited_at"]
    assert olive.post(f"/api/threads/{thread['id']}/resolve/").json()["resolved"] is True
    assert olive.post(f"/api/threads/{thread['id']}/resolve/").status_code == 200  # twice: no new event
    assert eddie.post(f"/api/threads/{thread['id']}/reopen/").json()["resolved"] is False

    events = eddie.get(f"/api/bytes/{team['byte'].pk}/discussion/events/?since=0").json()
    assert events["conversation"] == f"byte:{team['byte'].pk}"
    assert [e["seq"] for e in events["events"]] == [1, 2, 3, 4, 5]
    assert [e["kind"] for e in events["events"]] == [
        "thread.created", "comment.created", "comment.edited", "thread.resolved", "thread.reopened"
    ]  # fmt: skip
    assert events["last_seq"] == 5
    later = eddie.get(f"/api/bytes/{team['byte'].pk}/discussion/events/?since=3").json()
    assert [e["seq"] for e in later["events"]] == [4, 5]
    listed = eddie.get(f"/api/bytes/{team['byte'].pk}/threads/").json()
    assert listed["last_seq"] == 5
    assert [c["body"] for c in listed["results"][0]["comments"]] == [
        "Is this still true?",
        "Yes, checked today.",
    ]


def test_retry_with_the_same_client_id_never_duplicates(team, client_for):
    eddie = client_for(team["editor"])
    first = post_thread(eddie, team["byte"], "Once", client_id="same-1")
    again = post_thread(eddie, team["byte"], "Once", client_id="same-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    thread_id = first.json()["id"]
    reply = {"body": "reply", "client_id": "same-2"}
    assert eddie.post(f"/api/threads/{thread_id}/comments/", reply, format="json").status_code == 201
    assert eddie.post(f"/api/threads/{thread_id}/comments/", reply, format="json").status_code == 200
    chat = {"body": "hi", "client_id": "same-3"}
    assert eddie.post(f"/api/modules/{team['deploy'].pk}/chat/", chat, format="json").status_code == 201
    assert eddie.post(f"/api/modules/{team['deploy'].pk}/chat/", chat, format="json").status_code == 200
    assert Comment.objects.count() == 3 and Event.objects.count() == 3
    # The same id for a different message is an error, not a silent success.
    reused = eddie.post(
        f"/api/modules/{team['deploy'].pk}/chat/", {"body": "x", "client_id": "same-2"}, format="json"
    )
    assert reused.status_code == 400 and "client_id" in reused.json()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"body": ""}, "body"),
        ({"body": "   \n "}, "body"),
        ({"body": "x" * 5001}, "body"),
        ({"body": 42}, "body"),
        ({}, "body"),
        ({"body": "hi @nobody-here"}, "body"),
        ({"body": "hi @oscar"}, "body"),  # a member of another workspace only
        ({"body": "ok", "client_id": "has spaces"}, "client_id"),
        ({"body": "ok", "anchor": {"start": "!!", "end": "AA==", "quote": ""}}, "anchor"),
        ({"body": "ok", "anchor": "not an object"}, "anchor"),
        (
            {
                "body": "ok",
                "anchor": {"start": base64.b64encode(b"\xff" * 9).decode(), "end": "", "quote": ""},
            },
            "anchor",
        ),
    ],
)
def test_bad_input_is_a_clear_400_and_stores_nothing(team, client_for, payload, field):
    url = f"/api/bytes/{team['byte'].pk}/threads/"
    answer = client_for(team["editor"]).post(url, payload, format="json")
    assert answer.status_code == 400, answer.content
    assert field in answer.json(), answer.json()
    assert not Comment.objects.exists() and not Event.objects.exists()


def test_permission_matrix(team, client_for):
    byte, secret = team["byte"], team["secret"]
    vera, oscar, anon = client_for(team["viewer"]), client_for(team["outsider"]), client_for(None)
    thread = post_thread(client_for(team["editor"]), byte, "hello").json()
    # Viewers read but do not write until an owner allows it.
    assert vera.get(f"/api/bytes/{byte.pk}/threads/").status_code == 200
    assert post_thread(vera, byte, "may I?").status_code == 403
    assert (
        vera.post(f"/api/threads/{thread['id']}/comments/", {"body": "x"}, format="json").status_code == 403
    )
    assert vera.post(f"/api/threads/{thread['id']}/resolve/").status_code == 403
    assert (
        vera.post(f"/api/modules/{team['deploy'].pk}/chat/", {"body": "x"}, format="json").status_code == 403
    )
    owner = client_for(team["owner"])
    assert (
        vera.patch(f"/api/workspaces/{team['workspace'].pk}/", {"viewers_can_comment": True}).status_code
        == 403
    )
    allowed = owner.patch(
        f"/api/workspaces/{team['workspace'].pk}/", {"viewers_can_comment": True}, format="json"
    )
    assert allowed.json()["viewers_can_comment"] is True
    assert post_thread(vera, byte, "now I may").status_code == 201
    # Others' comments cannot be edited, whatever the role.
    assert (
        owner.patch(f"/api/comments/{thread['comments'][0]['id']}/", {"body": "x"}, format="json").status_code
        == 403
    )
    # Outsiders and anonymous see nothing, and cannot tell what exists.
    for client, expected in ((oscar, 404), (anon, 401)):
        assert client.get(f"/api/bytes/{byte.pk}/threads/").status_code == expected
        assert post_thread(client, byte, "hi").status_code == expected
        assert client.get(f"/api/threads/{thread['id']}/comments/").status_code in (expected, 405)
        assert (
            client.post(f"/api/threads/{thread['id']}/comments/", {"body": "x"}, format="json").status_code
            == expected
        )
        assert client.get(f"/api/comments/{thread['comments'][0]['id']}/").status_code == expected
        assert client.get(f"/api/modules/{team['deploy'].pk}/chat/events/").status_code == expected
    assert post_thread(client_for(team["editor"]), secret, "peek").status_code == 404
    assert client_for(team["editor"]).get(f"/api/bytes/{secret.pk}/discussion/events/").status_code == 404


def test_mentions_and_replies_reach_the_inbox(team, client_for):
    eddie, olive, vera = client_for(team["editor"]), client_for(team["owner"]), client_for(team["viewer"])
    thread = post_thread(olive, team["byte"], "@eddie can you check the deploy steps? cc @vera.").json()
    assert [m["username"] for m in thread["comments"][0]["mentions"]] == ["eddie", "vera"]
    assert eddie.get("/api/inbox/unread/").json() == {"unread": 1}
    item = eddie.get("/api/inbox/").json()["results"][0]
    assert (item["reason"], item["actor"]["username"], item["byte"]["id"], item["read"]) == (
        "mention", "olive", team["byte"].pk, False
    )  # fmt: skip
    assert vera.get("/api/inbox/unread/").json() == {"unread": 1}
    # A reply notifies whoever started or joined the thread, not the replier.
    eddie.post(f"/api/threads/{thread['id']}/comments/", {"body": "Done."}, format="json")
    olive_items = olive.get("/api/inbox/").json()["results"]
    assert [(i["reason"], i["excerpt"]) for i in olive_items] == [("reply", "Done.")]
    assert eddie.get("/api/inbox/unread/").json() == {"unread": 1}  # not told of their own reply
    read = eddie.post(f"/api/inbox/{item['id']}/read/")
    assert read.json()["read"] is True and eddie.get("/api/inbox/unread/").json() == {"unread": 0}
    assert eddie.get("/api/inbox/?unread=1").json()["count"] == 0
    assert olive.post("/api/inbox/read-all/", {}, format="json").json() == {"unread": 0}
    # Someone else's items are not yours to read.
    assert vera.post(f"/api/inbox/{item['id']}/read/").status_code == 404


def test_mentions_in_byte_content_notify_once(team, client_for):
    byte = team["byte"]
    byte_services.byte_update(byte=byte, user=team["owner"], content=byte.content + "\n@eddie please review")
    byte.refresh_from_db()
    byte_services.byte_update(byte=byte, user=team["owner"], content=byte.content + " (thanks)")
    items = InboxItem.objects.filter(user=team["editor"])
    assert [(i.reason, i.byte_id, i.excerpt) for i in items] == [("mention", byte.pk, "@eddie please review")]
    assert not InboxItem.objects.filter(user=team["owner"]).exists()  # not for mentioning yourself


def test_chat_pages_and_catch_up(team, client_for):
    eddie = client_for(team["editor"])
    url = f"/api/modules/{team['deploy'].pk}/chat/"
    for n in range(55):
        assert eddie.post(url, {"body": f"m{n}", "client_id": f"k{n}"}, format="json").status_code == 201
    latest = eddie.get(url).json()
    assert [m["body"] for m in latest["results"]] == [f"m{n}" for n in range(5, 55)]
    older = eddie.get(f"{url}?before={latest['results'][0]['id']}").json()
    assert [m["body"] for m in older["results"]] == [f"m{n}" for n in range(5)]
    events = eddie.get(f"{url}events/?since=50").json()
    assert [e["comment"]["body"] for e in events["events"]] == ["m50", "m51", "m52", "m53", "m54"]
    assert eddie.get(f"{url}events/?since=-1").status_code == 400
    assert eddie.get(f"{url}events/?since=abc").status_code == 400


def test_anchor_follows_its_passage_and_detaches_when_deleted(team, client_for):
    byte = team["byte"]
    store.ensure(byte.module_id)
    doc: Doc = Doc()
    doc.apply_update(store.load(byte.module_id))
    text = doc.get(store.text_name(byte.pk), type=Text)
    passage = "kb rollback"
    at = str(text).index(passage)
    start = text.sticky_index(at, Assoc.AFTER).encode()
    end = text.sticky_index(at + len(passage), Assoc.BEFORE).encode()
    anchor = {
        "start": base64.b64encode(start).decode(),
        "end": base64.b64encode(end).decode(),
        "quote": passage,
    }
    eddie = client_for(team["editor"])
    made = post_thread(eddie, byte, "Which flags?", anchor=anchor).json()
    assert made["anchor"]["quote"] == passage and made["anchor"]["detached"] is False

    def edit(new: str) -> None:
        current = eddie.get(f"/api/bytes/{byte.pk}/").json()
        answer = eddie.patch(
            f"/api/bytes/{byte.pk}/", {"content": new, "version": current["version"]}, format="json"
        )
        assert answer.status_code == 200, answer.content

    edit("First: " + byte.content.replace("kb rollback", "kb rollback --all"))
    doc2: Doc = Doc()
    doc2.apply_update(store.load(byte.module_id))
    text2 = doc2.get(store.text_name(byte.pk), type=Text)
    from pycrdt import StickyIndex

    begin = StickyIndex.decode(start, text2).get_index()
    finish = StickyIndex.decode(end, text2).get_index()
    assert str(text2)[begin:finish] == "kb rollback"  # text around it moved, the passage did not change
    assert eddie.get(f"/api/bytes/{byte.pk}/threads/").json()["results"][0]["anchor"]["detached"] is False

    edit(str(text2).replace("kb rollback", ""))
    assert eddie.get(f"/api/bytes/{byte.pk}/threads/").json()["results"][0]["anchor"]["detached"] is True


@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_get_consecutive_sequence_numbers(team, client_for):
    name = str(connection.settings_dict["NAME"])
    if connection.vendor == "sqlite" and name.startswith(("file:memorydb", ":memory:")):
        pytest.skip("needs a database shared between threads (runs on PostgreSQL)")
    url = f"/api/modules/{team['deploy'].pk}/chat/"
    errors: list[object] = []

    def sender(user, n: int) -> None:
        client = client_for(user)
        for i in range(10):
            answer = client.post(url, {"body": f"{n}-{i}", "client_id": f"t{n}-{i}"}, format="json")
            if answer.status_code != 201:
                errors.append(answer.content)
        connection.close()

    threads = [threading.Thread(target=sender, args=(team[r], n)) for n, r in enumerate(("owner", "editor"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    events = list(Event.objects.order_by("seq"))
    assert [e.seq for e in events] == list(range(1, 21))
    # Each sender's messages keep their order.
    for n in range(2):
        mine = [e.comment.body for e in events if e.comment.body.startswith(f"{n}-")]
        assert mine == [f"{n}-{i}" for i in range(10)]


def test_an_anchor_on_unknown_items_is_kept_and_reads_as_detached(team, client_for):
    """Typed a moment ago and not stored yet, or made up: the thread is stored, and every read
    of the byte's discussion still works (pycrdt would panic on such positions)."""
    unknown = base64.b64encode(b"\x00\x05\x07\x00").decode()
    eddie = client_for(team["editor"])
    made = post_thread(eddie, team["byte"], "here", anchor={"start": unknown, "end": unknown, "quote": "x"})
    assert made.status_code == 201, made.content
    assert made.json()["anchor"]["detached"] is True
    assert eddie.get(f"/api/bytes/{team['byte'].pk}/threads/").status_code == 200
    assert eddie.get(f"/api/bytes/{team['byte'].pk}/discussion/events/").status_code == 200
    without_assoc = base64.b64encode(b"\x00\x05\x07").decode()
    refused = post_thread(
        eddie, team["byte"], "x", anchor={"start": without_assoc, "end": unknown, "quote": ""}
    )
    assert refused.status_code == 400


def test_removed_members_are_not_told_of_replies_and_lose_their_inbox(team, client_for):
    eddie, olive = client_for(team["editor"]), client_for(team["owner"])
    thread = post_thread(eddie, team["byte"], "started by eddie").json()
    olive.post(f"/api/threads/{thread['id']}/comments/", {"body": "first reply"}, format="json")
    assert eddie.get("/api/inbox/unread/").json() == {"unread": 1}
    byte_services.membership_remove(membership=team["workspace"].memberships.get(user=team["editor"]))
    olive.post(f"/api/threads/{thread['id']}/comments/", {"body": "confidential plan"}, format="json")
    assert not InboxItem.objects.filter(user=team["editor"], excerpt="confidential plan").exists()
    assert eddie.get("/api/inbox/").json()["count"] == 0
    assert eddie.get("/api/inbox/unread/").json() == {"unread": 0}


def test_two_sends_with_the_same_client_id_at_once_answer_the_same(team, client_for, monkeypatch):
    """The race is simulated: the second request does not see the first's row when it looks,
    and meets it at INSERT (as on PostgreSQL when both look before either commits)."""
    from discussions import services

    eddie = client_for(team["editor"])
    url = f"/api/modules/{team['deploy'].pk}/chat/"
    first = eddie.post(url, {"body": "once", "client_id": "race-1"}, format="json")
    real = services._retried
    calls = iter([None])
    monkeypatch.setattr(services, "_retried", lambda user, cid: next(calls, real(user, cid)))
    second = eddie.post(url, {"body": "once", "client_id": "race-1"}, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"] and Comment.objects.count() == 1


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("get", "/api/modules/{module}/chat/?before=²", None),
        ("get", "/api/modules/{module}/chat/events/?since=²", None),
        ("get", "/api/modules/{module}/chat/events/?since=99999999999999999999999", None),
        ("post", "/api/inbox/read-all/", {"ids": [10**30]}),
        ("post", "/api/modules/{module}/chat/", {"body": "x", "client_id": "ÄÖ٣"}),
    ],
)
def test_odd_numbers_and_ids_are_400s(team, client_for, method, path, payload):
    url = path.format(module=team["deploy"].pk)
    answer = getattr(client_for(team["editor"]), method)(url, payload, format="json")
    assert answer.status_code == 400, answer.content


@pytest.mark.parametrize(
    "path",
    ["/api/bytes/99999999999999999999999/threads/", "/api/comments/99999999999999999999/",
     "/api/inbox/99999999999999999999/read/", "/api/modules/99999999999999999999/chat/"],
)  # fmt: skip
def test_huge_ids_are_404s(team, client_for, path):
    assert client_for(team["editor"]).post(path, {}, format="json").status_code == 404


def test_a_replys_client_id_cannot_start_a_thread(team, client_for):
    eddie = client_for(team["editor"])
    thread = post_thread(eddie, team["byte"], "first", client_id="a1").json()
    eddie.post(f"/api/threads/{thread['id']}/comments/", {"body": "second", "client_id": "a2"}, format="json")
    assert post_thread(eddie, team["byte"], "second", client_id="a2").status_code == 400


def test_catch_up_costs_a_fixed_number_of_queries(team, client_for, django_assert_max_num_queries):
    eddie = client_for(team["editor"])
    for n in range(3):
        thread = post_thread(eddie, team["byte"], f"thread {n} @olive").json()
        for m in range(3):
            eddie.post(f"/api/threads/{thread['id']}/comments/", {"body": f"reply {m}"}, format="json")
    with django_assert_max_num_queries(20):
        events = eddie.get(f"/api/bytes/{team['byte'].pk}/discussion/events/?since=0").json()["events"]
    assert len(events) == 12
