from django.urls import re_path

from .consumers import DiscussConsumer

websocket_urlpatterns = [re_path(r"^ws/discuss/?$", DiscussConsumer.as_asgi())]
