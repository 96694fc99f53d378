"""Shared fixtures: personas and model builders. Tests run on real Postgres and Redis (see Makefile)."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache

from compliance.roles import COMPLIANCE_OFFICER, ONBOARDING_ENGINEER
from tests import builders


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


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
