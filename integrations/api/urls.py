from django.urls import include, path
from rest_framework.routers import SimpleRouter

from .webhooks import EndpointViewSet

router = SimpleRouter()
router.register("webhooks", EndpointViewSet, basename="webhook")

urlpatterns = [
    path("", include(router.urls)),
]
