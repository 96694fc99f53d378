"""Celery tasks of ehr_integrations: thin shells that take ids and call one service.

Scheduled in config/settings.py CELERY_BEAT_SCHEDULE: token refresh every EHR_TOKEN_REFRESH_EVERY_S,
signing-key rotation hourly (each run only acts when a key is due).
"""

from celery import shared_task
from django.db.models import QuerySet

from ehr_integrations.auth import signing_keys, token_cache
from ehr_integrations.fhir import client as fhir_client
from ehr_integrations.models import AuthMethod, HealthSystem


def _systems_with_tokens() -> QuerySet[HealthSystem]:
    return HealthSystem.objects.filter(enabled=True, connection__isnull=False).exclude(
        connection__auth_method=AuthMethod.NONE
    )


@shared_task(ignore_result=True)
def refresh_expiring_tokens() -> int:
    ids = list(_systems_with_tokens().values_list("pk", flat=True))
    for health_system_id in ids:
        refresh_token.delay(health_system_id)
    return len(ids)


@shared_task(ignore_result=True)
def refresh_token(health_system_id: int) -> bool:
    """Renew this health system's cached token if it is near its end (idempotent: a fresh one is left alone)."""
    config = fhir_client.connection_config(HealthSystem.objects.get(pk=health_system_id))
    return token_cache.refresh_if_due_sync(config)


@shared_task(ignore_result=True)
def rotate_signing_keys() -> int:
    ids = list(
        HealthSystem.objects.filter(connection__auth_method=AuthMethod.PRIVATE_KEY_JWT).values_list("pk", flat=True)
    )
    for health_system_id in ids:
        rotate_signing_key.delay(health_system_id)
    return len(ids)


@shared_task(ignore_result=True)
def rotate_signing_key(health_system_id: int) -> int:
    """Advance this health system's rotation and start a new one when its key is old enough."""
    return len(signing_keys.rotate_if_due(HealthSystem.objects.get(pk=health_system_id)))
