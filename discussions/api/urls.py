from django.urls import include, path
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("inbox", views.InboxViewSet, basename="inbox")

urlpatterns = [
    path("bytes/<int:pk>/threads/", views.ByteThreadsView.as_view(), name="byte-threads"),
    path("bytes/<int:pk>/discussion/events/", views.ByteEventsView.as_view(), name="byte-discussion-events"),
    path("threads/<int:pk>/comments/", views.ThreadCommentsView.as_view(), name="thread-comments"),
    path("threads/<int:pk>/resolve/", views.ThreadStateView.as_view(resolved=True), name="thread-resolve"),
    path("threads/<int:pk>/reopen/", views.ThreadStateView.as_view(resolved=False), name="thread-reopen"),
    path("comments/<int:pk>/", views.CommentView.as_view(), name="comment"),
    path("modules/<int:pk>/chat/", views.ModuleChatView.as_view(), name="module-chat"),
    path("modules/<int:pk>/chat/events/", views.ModuleChatEventsView.as_view(), name="module-chat-events"),
    path("", include(router.urls)),
]
