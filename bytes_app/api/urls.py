from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from .auth import SessionView, TokenView
from .bytes import ByteViewSet
from .modules import ModuleViewSet
from .tags import TagViewSet
from .workspaces import MemberViewSet, WorkspaceViewSet

router = DefaultRouter()
router.register("workspaces", WorkspaceViewSet, basename="workspace")
router.register(r"workspaces/(?P<workspace_pk>\d+)/members", MemberViewSet, basename="member")
router.register("modules", ModuleViewSet, basename="module")
router.register("bytes", ByteViewSet, basename="byte")
router.register("tags", TagViewSet, basename="tag")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("auth/session/", SessionView.as_view(), name="auth-session"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include(router.urls)),
]
