"""Signing keys for SMART client assertions: generation, encryption at rest and rotation.

Rotation follows the JWKS-URL model (Epic no longer accepts uploaded keys): a new key is
published first, assertions switch to it once its grace period has passed (so every EHR has had
time to refetch our JWKS), and the old key keeps being published until it is retired.
"""

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Min
from django.utils import timezone
from joserfc.jwk import ECKey, RSAKey

from compliance import encryption
from ehr_integrations.models import EHRConnection, HealthSystem, KeyStatus, SigningKey

logger = logging.getLogger(__name__)

PUBLISHED_STATUSES = (KeyStatus.PUBLISHED, KeyStatus.ACTIVE, KeyStatus.RETIRING)
RSA_BITS = 3072


def _algorithm_of(health_system: HealthSystem) -> str:
    connection = EHRConnection.objects.filter(health_system=health_system).first()
    return connection.signing_algorithm if connection else "ES384"


def _new_key_pair(algorithm: str) -> ECKey | RSAKey:
    if algorithm == "RS384":
        return RSAKey.generate_key(RSA_BITS, private=True)
    if algorithm == "ES384":
        return ECKey.generate_key("P-384", private=True)
    raise ValueError(f"unsupported signing algorithm {algorithm!r}")


def generate_key(
    health_system: HealthSystem,
    *,
    algorithm: str | None = None,
    activate_after: datetime | None = None,
    status: str = KeyStatus.PUBLISHED,
) -> SigningKey:
    """Create a key pair; only the public half is ever shown, the private half is stored encrypted."""
    algorithm = algorithm or _algorithm_of(health_system)
    pair = _new_key_pair(algorithm)
    kid = f"{health_system.slug}-{timezone.now():%Y%m%d}-{secrets.token_hex(4)}"
    public = {**pair.as_dict(private=False), "kid": kid, "alg": algorithm, "use": "sig"}
    now = timezone.now()
    return SigningKey.objects.create(
        health_system=health_system,
        kid=kid,
        algorithm=algorithm,
        public_jwk=public,
        private_key_encrypted=encryption.encrypt(pair.as_pem(private=True).decode()),
        status=status,
        activate_after=activate_after or now,
        activated_at=now if status == KeyStatus.ACTIVE else None,
    )


def private_pem(key: SigningKey) -> str:
    return encryption.decrypt(key.private_key_encrypted)


def signing_key_for(health_system: HealthSystem) -> SigningKey:
    """The key assertions are signed with now: the newest published/active key past its grace period.

    Chosen by time, so signing switches when the grace period ends even if the beat task runs late;
    `advance_rotation` brings the stored statuses in line. With no key at all, a first one is made and
    signs at once (nothing was published before it).
    """
    candidates = SigningKey.objects.filter(
        health_system=health_system,
        status__in=[KeyStatus.PUBLISHED, KeyStatus.ACTIVE],
        activate_after__lte=timezone.now(),
    ).order_by("-activate_after", "-created_at")
    key = candidates.first()
    if key is not None:
        return key
    with transaction.atomic():
        HealthSystem.objects.select_for_update().get(pk=health_system.pk)
        if not SigningKey.objects.filter(health_system=health_system).exclude(status=KeyStatus.RETIRED).exists():
            return generate_key(health_system, status=KeyStatus.ACTIVE)
    # Only keys still in their grace period exist: keep signing with the newest retiring one.
    return (
        SigningKey.objects.filter(health_system=health_system)
        .exclude(status=KeyStatus.RETIRED)
        .latest("activate_after")
    )


def next_switch(health_system: HealthSystem) -> datetime | None:
    """When the next published key's grace period ends (signing_key_for then picks it), if one is waiting."""
    return (
        SigningKey.objects.filter(
            health_system=health_system, status=KeyStatus.PUBLISHED, activate_after__gt=timezone.now()
        )
        .aggregate(at=Min("activate_after"))
        .get("at")
    )


def published_keys(health_system: HealthSystem) -> list[SigningKey]:
    return list(SigningKey.objects.filter(health_system=health_system, status__in=PUBLISHED_STATUSES))


def jwks(health_system: HealthSystem) -> dict:
    """The JWK Set to publish. A private_key_jwt site gets its first key here if it has none yet,
    so the JWKS URL can be registered with the EHR before the first token request."""
    keys = published_keys(health_system)
    uses_keys = EHRConnection.objects.filter(health_system=health_system, auth_method="private_key_jwt").exists()
    if not keys and uses_keys:
        keys = [signing_key_for(health_system)]
    return {"keys": [key.public_jwk for key in keys]}


def start_rotation(health_system: HealthSystem, *, grace_s: float | None = None) -> SigningKey:
    """Publish a new key now; assertions switch to it after the grace period (settings.SIGNING_KEY_GRACE_S)."""
    grace = settings.SIGNING_KEY_GRACE_S if grace_s is None else grace_s
    key = generate_key(health_system, activate_after=timezone.now() + timedelta(seconds=grace))
    logger.info("signing key %s published for %s, signs after %ss", key.kid, health_system.slug, grace)
    return key


@dataclass(frozen=True)
class RotationStep:
    kid: str
    status: str


def advance_rotation(health_system: HealthSystem) -> list[RotationStep]:
    """Bring stored statuses in line with time: activate due keys, mark the replaced ones retiring, retire old ones."""
    steps: list[RotationStep] = []
    now = timezone.now()
    with transaction.atomic():
        keys = list(
            SigningKey.objects.select_for_update()
            .filter(health_system=health_system)
            .exclude(status=KeyStatus.RETIRED)
            .order_by("-activate_after", "-created_at")
        )
        due = [k for k in keys if k.status in (KeyStatus.PUBLISHED, KeyStatus.ACTIVE) and k.activate_after <= now]
        signing = due[0] if due else None
        for key in keys:
            if key is signing and key.status != KeyStatus.ACTIVE:
                key.status, key.activated_at = KeyStatus.ACTIVE, now
            elif signing and key.status in (KeyStatus.ACTIVE, KeyStatus.PUBLISHED) and key in due[1:]:
                key.status = KeyStatus.RETIRING
            elif signing and key.status == KeyStatus.RETIRING and _retire_due(signing, now):
                key.status, key.retired_at = KeyStatus.RETIRED, now
            else:
                continue
            key.save(update_fields=["status", "activated_at", "retired_at"])
            steps.append(RotationStep(key.kid, key.status))
    for step in steps:
        logger.info("signing key %s of %s is now %s", step.kid, health_system.slug, step.status)
    return steps


def _retire_due(signing: SigningKey, now: datetime) -> bool:
    since = signing.activated_at or signing.activate_after
    return now >= since + timedelta(seconds=settings.SIGNING_KEY_RETIRE_AFTER_S)


def rotation_due(health_system: HealthSystem) -> bool:
    """True when the signing key is older than SIGNING_KEY_MAX_AGE_DAYS and no successor is waiting."""
    pending = SigningKey.objects.filter(
        health_system=health_system, status=KeyStatus.PUBLISHED, activate_after__gt=timezone.now()
    ).exists()
    if pending:
        return False
    newest = SigningKey.objects.filter(health_system=health_system, status=KeyStatus.ACTIVE).order_by("-created_at")
    key = newest.first()
    return key is not None and key.created_at <= timezone.now() - timedelta(days=settings.SIGNING_KEY_MAX_AGE_DAYS)


def rotate_if_due(health_system: HealthSystem) -> list[RotationStep]:
    """The scheduled rotation: advance statuses, then start a rotation when the key is old enough."""
    steps = advance_rotation(health_system)
    if rotation_due(health_system):
        key = start_rotation(health_system)
        steps.append(RotationStep(key.kid, key.status))
    return steps


def reencrypt_all() -> int:
    """Re-encrypt every stored client secret and private key under the newest FIELD_ENCRYPTION_KEYS key."""
    count = 0
    with transaction.atomic():
        for key in SigningKey.objects.select_for_update().exclude(private_key_encrypted=""):
            key.private_key_encrypted = encryption.reencrypt(key.private_key_encrypted)
            key.save(update_fields=["private_key_encrypted"])
            count += 1
        for connection in EHRConnection.objects.select_for_update().exclude(client_secret_encrypted=""):
            connection.client_secret_encrypted = encryption.reencrypt(connection.client_secret_encrypted)
            connection.save(update_fields=["client_secret_encrypted"])
            count += 1
    return count
