from __future__ import annotations

from datetime import UTC, datetime

import django_filters
from django.db.models import QuerySet
from rest_framework.exceptions import ValidationError

from ..models import Byte, Module

# Ids bounded to a 64-bit column: past it SQLite raises OverflowError, a 500 (found by
# schemathesis: `/api/modules/?workspace=-7.04e+301`).
ID_RANGE = {"min_value": 1, "max_value": 10**18 - 1}


class ModuleFilter(django_filters.FilterSet):
    workspace = django_filters.NumberFilter(field_name="workspace_id", **ID_RANGE)
    parent = django_filters.NumberFilter(field_name="parent_id", **ID_RANGE)
    root = django_filters.BooleanFilter(
        field_name="parent", lookup_expr="isnull", label="Only top-level modules"
    )

    class Meta:
        model = Module
        fields = ["workspace", "parent", "root"]


class ByteFilter(django_filters.FilterSet):
    workspace = django_filters.NumberFilter(field_name="module__workspace_id", **ID_RANGE)
    module = django_filters.NumberFilter(field_name="module_id", **ID_RANGE)
    tag = django_filters.CharFilter(method="filter_tag", label="Tag name")
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", method="filter_updated_since")

    class Meta:
        model = Byte
        fields = ["workspace", "module", "tag", "updated_since"]

    def filter_updated_since(self, queryset: QuerySet[Byte], name: str, value: datetime) -> QuerySet[Byte]:
        # Compared in UTC: PostgreSQL refuses the offsets past ±15:59 that ISO 8601 allows
        # (found by schemathesis: `?updated_since=1646-08-09T20:37:53-16:04` answered 500).
        try:
            since = value.astimezone(UTC)
        except OverflowError:
            raise ValidationError({"updated_since": ["Date out of range."]}) from None
        return queryset.filter(updated_at__gte=since)

    def filter_tag(self, queryset: QuerySet[Byte], name: str, value: str) -> QuerySet[Byte]:
        return queryset.filter(tags__name=value.strip().lower())
