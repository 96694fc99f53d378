from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "calls"
    verbose_name = "Agent clients and calls"

    def ready(self) -> None:
        from calls.edges import schema  # noqa: F401  (registers the Api-Key scheme with drf-spectacular)
