"""Other apps under the names staff read in the admin (the app labels, and so the tables, are theirs)."""

from auditlog.apps import AuditlogConfig
from django.contrib.auth.apps import AuthConfig
from django_celery_beat.apps import BeatConfig


class StaffAccountsConfig(AuthConfig):
    verbose_name = "Staff accounts and roles"


class ConfigurationHistoryConfig(AuditlogConfig):
    # Not the PHI access log: who changed which configuration field (django-auditlog).
    verbose_name = "Configuration change history"


class ScheduledTasksConfig(BeatConfig):
    verbose_name = "Scheduled tasks (superusers)"
