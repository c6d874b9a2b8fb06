"""Map domain errors onto HTTP: Django ValidationError -> 400 per field, StaleVersion -> 412."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from ..services import StaleVersion


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The resource changed since you read it."
    default_code = "stale_version"


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, StaleVersion):
        response = drf_exception_handler(PreconditionFailed(str(exc)), context)
        if response is not None:
            response.data["current_version"] = exc.current
            response["ETag"] = f'"{exc.current}"'
        return response
    return drf_exception_handler(exc, context)
