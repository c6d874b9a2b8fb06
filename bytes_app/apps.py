from django.apps import AppConfig


class BytesAppConfig(AppConfig):
    name = "bytes_app"
    verbose_name = "Knowledge base"
    default_auto_field = "django.db.models.BigAutoField"
