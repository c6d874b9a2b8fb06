"""Full-text search: ranked (title above content), prefix words, safe with any input, scoped."""

from __future__ import annotations

import pytest

from bytes_app import services


@pytest.fixture
def corpus(team):
    module, owner = team["deploy"], team["owner"]
    services.byte_create(module=module, user=owner, title="Kubernetes basics", content="Pods and nodes.")
    services.byte_create(
        module=module, user=owner, title="Networking", content="How kubernetes routes traffic between pods."
    )
    services.byte_create(module=module, user=owner, title="Cooking", content="Nothing about clusters.")
    return team


def titles(client, query):
    response = client.get("/api/bytes/", {"q": query})
    assert response.status_code == 200, response.content
    return [row["title"] for row in response.json()["results"]]


def test_title_match_ranks_above_content_match(corpus, client_for):
    client = client_for(corpus["viewer"])
    assert titles(client, "kubernetes") == ["Kubernetes basics", "Networking"]


def test_every_word_must_match_and_words_match_as_prefixes(corpus, client_for):
    client = client_for(corpus["viewer"])
    assert titles(client, "kube traffic") == ["Networking"]
    assert titles(client, "kubernetes cooking") == []
    assert titles(client, "rollb") == ["Rollback"]


def test_stemming(corpus, client_for):
    assert titles(client_for(corpus["viewer"]), "routing") == ["Networking"]


@pytest.mark.parametrize(
    "query",
    ['"', "'", "AND OR NOT", "kube*", "(", "NEAR(a b)", "title:x", "a & b | !c", "💥", "'; DROP TABLE x"],
)
def test_syntax_in_queries_is_never_an_error(corpus, client_for, query):
    response = client_for(corpus["viewer"]).get("/api/bytes/", {"q": query})
    assert response.status_code == 200


def test_search_is_scoped_to_the_callers_workspaces(corpus, client_for):
    assert titles(client_for(corpus["outsider"]), "kubernetes") == []
    assert titles(client_for(corpus["outsider"]), "nope") == ["Hidden"]


def test_search_follows_edits(corpus, client_for):
    byte = corpus["byte"]
    services.byte_update(byte=byte, user=corpus["owner"], content="zanzibar protocol")
    client = client_for(corpus["viewer"])
    assert titles(client, "zanzibar") == ["Rollback"]
    assert titles(client, "breathe") == ["Checklist"]
    services.byte_delete(byte=corpus["checklist"])
    assert titles(client, "breathe") == []


def test_search_combines_with_filters_and_reports_rank(corpus, client_for):
    client = client_for(corpus["viewer"])
    rows = client.get("/api/bytes/", {"q": "kubernetes", "tag": "none"}).json()["results"]
    assert rows == []
    rows = client.get("/api/bytes/", {"q": "kubernetes"}).json()["results"]
    assert rows[0]["rank"] > rows[1]["rank"]
    too_long = client.get("/api/bytes/", {"q": "x" * 201})
    assert too_long.status_code == 400
