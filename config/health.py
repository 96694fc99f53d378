"""Liveness and readiness probes. Readiness names the part that failed."""

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpRequest, JsonResponse
from kombu import Connection
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    cache.set("readyz:probe", "1", timeout=5)
    if cache.get("readyz:probe") != "1":
        raise ConnectionError("cache did not return what was written")


def _check_broker() -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    with Connection(settings.CELERY_BROKER_URL, connect_timeout=2) as conn:
        conn.ensure_connection(max_retries=1)


CHECKS = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}
EXPECTED_FAILURES = (DatabaseError, RedisError, BrokerError, ConnectionError, OSError, TimeoutError)


def readyz(request: HttpRequest) -> JsonResponse:
    failed = []
    for name, check in CHECKS.items():
        try:
            check()
        except EXPECTED_FAILURES:
            failed.append(name)
    if failed:
        return JsonResponse({"status": "unavailable", "failed": failed}, status=503)
    return JsonResponse({"status": "ok", "checked": list(CHECKS)})
