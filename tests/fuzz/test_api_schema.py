"""Schemathesis against the REST API's own schema (/api/schema/), signed in with a token.

Every operation gets generated requests (valid and not); none may answer 5xx or contradict the
schema (status code, content type, headers, body). Path ids are drawn mostly from objects that
exist, so the handlers run past the 404. `SCHEMA_EXAMPLES` bounds the examples per operation
(CI: 10); `SCHEMA_EXAMPLES=1000 pytest -m chaos tests/fuzz/test_api_schema.py -p no:timeout` is
the long run.
"""

from __future__ import annotations

import json
import os
import random
from typing import Any

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from kb.wsgi import application

# transaction=True: the WSGI handler closes the database connection after each request.
pytestmark = [pytest.mark.chaos, pytest.mark.django_db(transaction=True)]

EXAMPLES = int(os.environ.get("SCHEMA_EXAMPLES", "10"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

# The schema exactly as /api/schema/ serves it (generated here: no request, no database).
schema = schemathesis.openapi.from_dict(
    json.loads(OpenApiJsonRenderer().render(SchemaGenerator().get_schema(request=None, public=True)))
)
schema.app = application

_existing: dict[str, list[Any]] = {}  # path parameter -> values that name real objects


@schema.hook
def map_path_parameters(context: Any, path_parameters: dict[str, Any]) -> dict[str, Any]:
    """Three times in four, swap a generated id for one that exists (the rest stay random)."""
    if not path_parameters:
        return path_parameters
    rng = random.Random(repr(sorted(path_parameters.items())))
    for name in path_parameters:
        choices = _existing.get(name)
        if choices and rng.random() < 0.75:
            path_parameters[name] = rng.choice(choices)
    return path_parameters


@pytest.fixture
def token(team, token_of) -> str:
    byte = team["byte"]
    _existing.clear()
    _existing.update(
        id=[team["workspace"].pk, team["deploy"].pk, byte.pk, team["ops"].pk, team["checklist"].pk],
        workspace_pk=[team["workspace"].pk],
        byte_pk=[byte.pk, team["checklist"].pk],
        username=["eddie", "vera", "olive"],
        rev=list(byte.revisions.values_list("pk", flat=True)),
    )
    return token_of(team["owner"])


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("CI") == "true",  # CI: the same examples every run; locally: new ones
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_no_server_error_and_no_response_contradicting_the_schema(case, token):
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=CHECKS)
