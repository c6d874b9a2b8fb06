"""ASGI entry point: HTTP goes to Django, WebSocket to discussions (/ws/discuss/) or the collab
layer (/ws/modules/<id>)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kb.settings")
django_asgi_app = get_asgi_application()

# Imported after Django is set up: these import models.
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from collab.routing import websocket_urlpatterns  # noqa: E402
from collab.runtime import shutdown_current, start_current  # noqa: E402
from discussions.routing import websocket_urlpatterns as discussion_urlpatterns  # noqa: E402
from kb import diagnostics  # noqa: E402
from kb.lifespan import Lifespan  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(discussion_urlpatterns + websocket_urlpatterns),
        # At start-up: catch up contents a killed process left in the log. At shutdown (after
        # uvicorn has closed the sockets): store what is pending.
        "lifespan": Lifespan(startup=[diagnostics.install, start_current], shutdown=[shutdown_current]),
    }
)
