"""The error responses every operation can give, added to the OpenAPI schema.

Views document their success bodies; the errors (README "Errors") come from DRF and kb's
exception handler for every operation alike, so they are added here once, as a
drf-spectacular postprocessing hook. Without them a client generated from the schema knows no
404 or 429 (found by schemathesis: every error response was an undocumented status code).
"""

from __future__ import annotations

from typing import Any

ERROR = {
    "type": "object",
    "description": "`detail` says what went wrong; a 400 may instead name each field with its messages.",
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": True,
}
COMMON = {
    "400": "Bad input.",
    "401": "Not signed in.",
    "403": "Not allowed (or no CSRF token with a session).",
    "404": "No such object, or not yours to see; also a page past the end.",
    "413": "Request body too large.",
    "429": "Throttled.",
    "503": "The database cannot be reached now: retry after `Retry-After` seconds.",
}
CONDITIONAL = {"412": "If-Match names an older version than the stored one."}
WITH_BODY = {"415": "A media type the operation does not take, or a body its parser cannot read."}


def add_error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: document the shared error responses."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    reference = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            headers = {parameter.get("name", "").lower() for parameter in operation.get("parameters", [])}
            conditional = method in ("put", "patch") or "if-match" in headers
            codes = {
                **COMMON,
                **(CONDITIONAL if conditional else {}),
                **(WITH_BODY if "requestBody" in operation else {}),
            }
            for code, description in codes.items():
                responses.setdefault(code, {"description": description, "content": reference})
    return result
