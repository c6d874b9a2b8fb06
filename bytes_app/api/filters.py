from __future__ import annotations

import django_filters
from django.db.models import QuerySet

from ..models import Byte, Module


class ModuleFilter(django_filters.FilterSet):
    workspace = django_filters.NumberFilter(field_name="workspace_id")
    parent = django_filters.NumberFilter(field_name="parent_id")
    root = django_filters.BooleanFilter(
        field_name="parent", lookup_expr="isnull", label="Only top-level modules"
    )

    class Meta:
        model = Module
        fields = ["workspace", "parent", "root"]


class ByteFilter(django_filters.FilterSet):
    workspace = django_filters.NumberFilter(field_name="module__workspace_id")
    module = django_filters.NumberFilter(field_name="module_id")
    tag = django_filters.CharFilter(method="filter_tag", label="Tag name")
    updated_since = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    class Meta:
        model = Byte
        fields = ["workspace", "module", "tag", "updated_since"]

    def filter_tag(self, queryset: QuerySet[Byte], name: str, value: str) -> QuerySet[Byte]:
        return queryset.filter(tags__name=value.strip().lower())
