"""ASGI entry point: HTTP goes to Django, WebSocket to the collab layer."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kb.settings")
django_asgi_app = get_asgi_application()

# Imported after Django is set up: these import models.
from channels.routing import ProtocolTypeRouter  # noqa: E402

from kb.lifespan import Lifespan  # noqa: E402

application = ProtocolTypeRouter({"http": django_asgi_app, "lifespan": Lifespan()})
