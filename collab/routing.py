from django.urls import re_path

from .consumers import ModuleConsumer, UnknownPathConsumer

# y-websocket appends "/<room>" to the URL it is given, with no trailing slash.
websocket_urlpatterns = [
    re_path(r"^ws/modules/(?P<module_id>[0-9]{1,18})/?$", ModuleConsumer.as_asgi()),
    re_path(r"", UnknownPathConsumer.as_asgi()),
]
