from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender: AppConfig, **kwargs: object) -> None:
    from django.contrib.auth.models import Group, Permission

    from compliance.roles import sync_roles

    sync_roles(Group, Permission)


class ComplianceConfig(AppConfig):
    name = "compliance"
    verbose_name = "Business associates and BAAs"

    def ready(self) -> None:
        from compliance.phi_logging import install_record_factory

        post_migrate.connect(_sync_roles, dispatch_uid="compliance.sync_roles")
        install_record_factory()
