from django.apps import AppConfig


class EhrIntegrationsConfig(AppConfig):
    name = "ehr_integrations"
    verbose_name = "Health systems and EHR connections"
