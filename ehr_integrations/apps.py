from django.apps import AppConfig


class EhrIntegrationsConfig(AppConfig):
    name = "ehr_integrations"
