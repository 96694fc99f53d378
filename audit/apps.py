from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_append_only(sender: AppConfig, using: str = "default", **kwargs: object) -> None:
    from django.db import connections

    from audit import append_only

    append_only.install(connections[using])


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "PHI access log"

    def ready(self) -> None:
        post_migrate.connect(_ensure_append_only, sender=self, dispatch_uid="audit.ensure_append_only")
