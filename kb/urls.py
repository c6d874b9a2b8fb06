from django.contrib import admin
from django.urls import include, path, re_path

from collab.views import CollabStatusView
from kb import frontend

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("bytes_app.api.urls")),
    path("api/", include("integrations.api.urls")),
    path("api/", include("discussions.api.urls")),
    path("api/collab/status/", CollabStatusView.as_view(), name="collab-status"),
    # The browser wiki: "/" and its client-side routes; never /api/, /admin/, /static/ or /ws/.
    re_path(r"^(?!(?:api|admin|static|ws)(?:/|$)).*$", frontend.index, name="frontend"),
]
handler404 = "bytes_app.api.errors.not_found"
