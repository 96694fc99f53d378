from django.apps import AppConfig


class EhrIntegrationsConfig(AppConfig):
    name = "ehr_integrations"
    verbose_name = "Health systems and EHR connections"

    def ready(self) -> None:
        from ehr_integrations.transport.thread_affine import thread_critical_caches

        thread_critical_caches()
