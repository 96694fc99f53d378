"""Signing keys: generated here, private half encrypted at rest, rotated publish -> sign -> retire."""

import threading
import time
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.utils import timezone

from compliance import encryption
from ehr_integrations.auth import signing_keys, token_cache
from ehr_integrations.errors import EHRError
from ehr_integrations.fhir.client import connection_config, deadline_in, fhir_client
from ehr_integrations.models import EHRConnection, KeyStatus, SigningKey
from ehr_integrations.transport import io_loop
from tests.ehr_integrations.sandbox_systems import jwks_system


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


@pytest.mark.django_db(transaction=True)
def test_key_rotation_end_to_end_while_requests_flow(sandbox, live_server, settings):
    """Publish, switch after the grace period, retire: no request fails, the EHR picks the new key up from
    our JWKS URL (it knows no other way), and tokens fetched after the grace period use only the new key."""
    settings.JWKS_MAX_AGE_S = 1  # the EHR may cache our JWKS for a second; the grace period is longer
    settings.SIGNING_KEY_RETIRE_AFTER_S = 1
    settings.EHR_TOKEN_MIN_REFRESH_INTERVAL_S = 0
    settings.EHR_TOKEN_REFRESH_AHEAD = 0.4
    sandbox.set_token_lifetime(1)
    system = jwks_system(sandbox, live_server)
    old = signing_keys.signing_key_for(system)
    fetched: dict[float, str] = {}  # token fetch time -> kid
    errors: list[str] = []
    stop = threading.Event()

    def agent_requests():
        while not stop.is_set():
            config = connection_config(system)  # read per request, as the gateway does
            deadline = deadline_in(5)
            try:
                io_loop.wait(
                    fhir_client(config).search("Patient", {"_count": "1"}, deadline=deadline, max_pages=1),
                    deadline=deadline,
                )
                token = io_loop.wait(token_cache.peek(config), deadline=deadline_in(1))
                fetched.setdefault(token.fetched_at, token.kid)
            except EHRError as exc:
                errors.append(repr(exc))
            time.sleep(0.02)

    worker = threading.Thread(target=agent_requests)
    worker.start()
    try:
        time.sleep(1.0)
        new = signing_keys.start_rotation(system, grace_s=2)
        switch_at = new.activate_after.timestamp()
        time.sleep(max(0.0, switch_at + 1.2 - time.time()))
        signing_keys.advance_rotation(system)  # old -> retiring
        time.sleep(1.1)
        signing_keys.advance_rotation(system)  # old -> retired, gone from the JWKS
        assert [k.kid for k in signing_keys.published_keys(system)] == [new.kid]
        time.sleep(1.5)
    finally:
        stop.set()
        worker.join(10)

    assert errors == []
    before = {kid for at, kid in fetched.items() if at < switch_at}
    after = [kid for at, kid in sorted(fetched.items()) if at > switch_at + 0.1]
    assert before == {old.kid}
    assert len(after) >= 3 and set(after) == {new.kid}
    assert SigningKey.objects.get(pk=old.pk).status == KeyStatus.RETIRED
