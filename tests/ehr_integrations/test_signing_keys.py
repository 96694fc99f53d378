"""Signing keys: generated here, private half encrypted at rest, rotated publish -> sign -> retire."""

from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.utils import timezone

from compliance import encryption
from ehr_integrations import signing_keys
from ehr_integrations.models import EHRConnection, KeyStatus, SigningKey


@pytest.fixture
def system(health_system):
    return health_system


def _age(key: SigningKey, **delta) -> None:
    SigningKey.objects.filter(pk=key.pk).update(
        activate_after=key.activate_after - timedelta(**delta), created_at=key.created_at - timedelta(**delta)
    )


@pytest.mark.django_db
def test_first_key_is_es384_and_signs_at_once(system):
    key = signing_keys.signing_key_for(system)
    assert key.algorithm == "ES384" and key.status == KeyStatus.ACTIVE
    assert key.public_jwk["kid"] == key.kid and key.public_jwk["crv"] == "P-384"
    assert "d" not in key.public_jwk


@pytest.mark.django_db
def test_rs384_is_selectable(system):
    EHRConnection.objects.filter(health_system=system).update(signing_algorithm="RS384")
    key = signing_keys.signing_key_for(system)
    assert key.algorithm == "RS384" and key.public_jwk["kty"] == "RSA"


@pytest.mark.django_db
def test_private_key_is_stored_encrypted(system):
    key = signing_keys.signing_key_for(system)
    assert "PRIVATE KEY" not in key.private_key_encrypted
    assert signing_keys.private_pem(key).startswith("-----BEGIN PRIVATE KEY-----")


@pytest.mark.django_db
def test_a_new_key_is_published_but_does_not_sign_during_its_grace_period(system):
    old = signing_keys.signing_key_for(system)
    new = signing_keys.start_rotation(system, grace_s=3600)
    assert {k.kid for k in signing_keys.published_keys(system)} == {old.kid, new.kid}
    assert signing_keys.signing_key_for(system) == old


@pytest.mark.django_db
def test_signing_switches_after_the_grace_period_and_the_old_key_retires_later(system, settings):
    settings.SIGNING_KEY_RETIRE_AFTER_S = 60
    old = signing_keys.signing_key_for(system)
    new = signing_keys.start_rotation(system, grace_s=0)
    assert signing_keys.signing_key_for(system) == new
    signing_keys.advance_rotation(system)
    statuses = dict(SigningKey.objects.values_list("kid", "status"))
    assert statuses == {old.kid: KeyStatus.RETIRING, new.kid: KeyStatus.ACTIVE}
    assert old.kid in {k.kid for k in signing_keys.published_keys(system)}
    SigningKey.objects.filter(pk=new.pk).update(activated_at=timezone.now() - timedelta(seconds=61))
    signing_keys.advance_rotation(system)
    assert SigningKey.objects.get(pk=old.pk).status == KeyStatus.RETIRED
    assert [k.kid for k in signing_keys.published_keys(system)] == [new.kid]


@pytest.mark.django_db
def test_scheduled_rotation_starts_only_when_the_key_is_old(system, settings):
    settings.SIGNING_KEY_MAX_AGE_DAYS = 90
    key = signing_keys.signing_key_for(system)
    assert signing_keys.rotate_if_due(system) == []
    _age(key, days=91)
    steps = signing_keys.rotate_if_due(system)
    assert [s.status for s in steps] == [KeyStatus.PUBLISHED]
    assert signing_keys.rotate_if_due(system) == []  # a successor is already waiting


@pytest.mark.django_db
def test_rotate_encryption_key_reencrypts_secrets_and_keys_under_the_newest_key(system, settings):
    connection = EHRConnection.objects.get(health_system=system)
    connection.set_client_secret("before-rotation")
    connection.save()
    key = signing_keys.signing_key_for(system)
    pem = signing_keys.private_pem(key)
    new_fernet_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_fernet_key, *settings.FIELD_ENCRYPTION_KEYS]
    call_command("rotate_encryption_key")
    settings.FIELD_ENCRYPTION_KEYS = [new_fernet_key]  # the old key is gone now
    connection.refresh_from_db()
    assert connection.client_secret() == "before-rotation"
    assert signing_keys.private_pem(SigningKey.objects.get(pk=key.pk)) == pem
    assert encryption.decrypt(connection.client_secret_encrypted) == "before-rotation"


@pytest.mark.django_db
def test_rotate_signing_keys_command_publishes_a_key(system):
    signing_keys.signing_key_for(system)
    call_command("rotate_signing_keys", system.slug, "--grace", "120")
    assert SigningKey.objects.filter(health_system=system, status=KeyStatus.PUBLISHED).count() == 1
