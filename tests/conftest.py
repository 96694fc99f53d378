"""Shared fixtures: personas and model builders. Tests run on real Postgres and Redis (see Makefile)."""

import os

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.db.backends.signals import connection_created

from compliance.roles import COMPLIANCE_OFFICER, ONBOARDING_ENGINEER
from ehr_integrations.transport import breaker, local_cache
from tests import builders
from tests.audit.unwritable import audit_log_unwritable as _audit_log_unwritable

pytest_plugins = ["tests.fixtures.sandbox"]

# The sandbox EHR and the tests' own servers listen on loopback: allowed through the address policy's
# setting, as the demo and the bench do (production leaves it empty). The environment variable
# reaches the gateway processes some tests start; a test of the policy itself overrides the setting.
LOOPBACK = "127.0.0.0/8"
os.environ["EHR_ALLOWED_NETWORKS"] = LOOPBACK
settings.EHR_ALLOWED_NETWORKS = [LOOPBACK]


def _allow_test_flush_of_audit_log(sender, connection, **kwargs) -> None:
    # Flushes between transactional tests TRUNCATE the append-only audit tables; the trigger lets
    # that through only in test_* databases whose session asks (audit/migrations/0002_append_only.py).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET audit.allow_test_flush = 'on'")


connection_created.connect(_allow_test_flush_of_audit_log, dispatch_uid="tests.allow_audit_flush")


@pytest.fixture
def audit_log_unwritable(db):
    """The PHI access log refuses every insert while this fixture is active."""
    with _audit_log_unwritable():
        yield


@pytest.fixture(autouse=True)
def _audit_checkpoints_in_tmp(settings, tmp_path):
    # Sealing appends signed checkpoints there; one test's must not judge the next test's chain.
    settings.AUDIT_DIGEST_DIR = tmp_path / "audit-digests"


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    local_cache.clear_all()
    breaker.forget_unflushed()
    yield
    local_cache.settle()
    cache.clear()
    local_cache.clear_all()
    breaker.forget_unflushed()


def _staff(username: str, role: str) -> User:
    user = User.objects.create_user(username, password="pw-for-tests-only", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def onboarding_engineer(db) -> User:
    return _staff("onboarding", ONBOARDING_ENGINEER)


@pytest.fixture
def compliance_officer(db) -> User:
    return _staff("compliance", COMPLIANCE_OFFICER)


@pytest.fixture
def health_system(db):
    return builders.health_system()


@pytest.fixture
def agent_client(db, health_system):
    return builders.agent_client("Acme Voice", health_system)


@pytest.fixture
def other_agent_client(db):
    return builders.agent_client("Other Voice", builders.health_system(slug="elsewhere"))
