from __future__ import annotations

import django_filters
from django.db.models import Count, QuerySet
from rest_framework import mixins, viewsets

from ..models import Tag
from ..selectors import tags_visible_to
from .serializers import TagSerializer


class TagFilter(django_filters.FilterSet):
    workspace = django_filters.NumberFilter(field_name="workspace_id")

    class Meta:
        model = Tag
        fields = ["workspace"]


class TagViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Tags of your workspaces with how many bytes carry each (tags are created by tagging bytes)."""

    serializer_class = TagSerializer
    filterset_class = TagFilter
    ordering_fields = ["name", "byte_count"]
    ordering = ["name"]

    def get_queryset(self) -> QuerySet[Tag]:
        return tags_visible_to(self.request.user).annotate(byte_count=Count("bytes"))
