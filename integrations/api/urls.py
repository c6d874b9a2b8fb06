from django.urls import include, path
from rest_framework.routers import SimpleRouter

from .markdown import ExportView, ImportView
from .webhooks import EndpointViewSet

router = SimpleRouter()
router.register("webhooks", EndpointViewSet, basename="webhook")

urlpatterns = [
    path("workspaces/<int:workspace_pk>/export/", ExportView.as_view(), name="workspace-export"),
    path("workspaces/<int:workspace_pk>/import/", ImportView.as_view(), name="workspace-import"),
    path("", include(router.urls)),
]
