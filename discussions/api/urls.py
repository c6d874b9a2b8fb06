from django.urls import include, path, register_converter
from rest_framework.routers import DefaultRouter

from . import views


class IdConverter:
    """A database id: ASCII digits that fit a 64-bit column (a longer number is a 404, not a
    database overflow)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("inbox", views.InboxViewSet, basename="inbox")

urlpatterns = [
    path("bytes/<id:pk>/threads/", views.ByteThreadsView.as_view(), name="byte-threads"),
    path("bytes/<id:pk>/discussion/events/", views.ByteEventsView.as_view(), name="byte-discussion-events"),
    path("threads/<id:pk>/comments/", views.ThreadCommentsView.as_view(), name="thread-comments"),
    path("threads/<id:pk>/resolve/", views.ThreadStateView.as_view(resolved=True), name="thread-resolve"),
    path("threads/<id:pk>/reopen/", views.ThreadStateView.as_view(resolved=False), name="thread-reopen"),
    path("comments/<id:pk>/", views.CommentView.as_view(), name="comment"),
    path("modules/<id:pk>/chat/", views.ModuleChatView.as_view(), name="module-chat"),
    path("modules/<id:pk>/chat/events/", views.ModuleChatEventsView.as_view(), name="module-chat-events"),
    path("", include(router.urls)),
]
