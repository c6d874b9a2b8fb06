from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations (webhooks, markdown folders)"

    def ready(self) -> None:
        from . import events  # noqa: F401  (connects the outbox to bytes_app's signals)
