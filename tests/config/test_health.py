import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

ROOT = Path(__file__).resolve().parents[2]


def test_healthz_answers_without_touching_services(client):
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_database_cache_and_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checked"] == ["database", "cache", "broker"]


@pytest.mark.django_db
@override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL="amqp://guest:guest@127.0.0.1:1//")
def test_readyz_names_the_failed_part(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failed": ["broker"]}


def test_production_settings_pass_check_deploy():
    env = {
        "PATH": "/usr/bin:/bin",
        "DEBUG": "false",
        "SECRET_KEY": "x" * 20 + "prod-only-secret-with-enough-entropy-1234567890!@#",
        "FIELD_ENCRYPTION_KEYS": "ZW1iZWRkZWQtZGV2LWtleS1ub3QtZm9yLXByb2QtMDA=",
        "AUDIT_HMAC_KEY": "prod-audit-key",
        "AUDIT_RECORD_KEY": "prod-audit-record-key",
        "AUDIT_CHECKPOINT_KEY": "cHJvZC1vbmx5LWNoZWNrcG9pbnQta2V5LTMyLWJ5dGU=",
        "ALLOWED_HOSTS": "gateway.example.org",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_secrets():
    env = {"PATH": "/usr/bin:/bin", "DEBUG": "false"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr
