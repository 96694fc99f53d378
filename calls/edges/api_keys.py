"""API keys for agent clients: generated once, stored as prefix + SHA-256, checked in constant time."""

import hashlib
import hmac
import secrets

from django.utils import timezone

from calls.models import AgentClient, ApiKey
from ehr_integrations.transport.local_cache import LocalCache

KEY_PREFIX = "vgw"
# Keyed by the presented key's hash; only keys that authenticated are kept. A revoked key or a
# disabled client stops at once in the process that saved it, everywhere within LOCAL_CACHE_SECONDS.
_clients = LocalCache("api_keys").clear_on_change(ApiKey, AgentClient)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_key(*, agent_client: AgentClient, label: str = "") -> str:
    """Create a key for the client and return it; it cannot be shown again."""
    prefix = secrets.token_hex(6)
    key = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    ApiKey.objects.create(agent_client=agent_client, prefix=prefix, key_hash=_hash(key), label=label)
    return key


def client_for_key(key: str) -> AgentClient | None:
    """The enabled agent client owning this unrevoked key, or None."""
    return _clients.get_or_load(_hash(key), lambda: _lookup(key))


def _lookup(key: str) -> AgentClient | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    api_key = (
        ApiKey.objects.select_related("agent_client")
        .filter(prefix=parts[1], revoked_at__isnull=True, agent_client__enabled=True)
        .first()
    )
    if api_key is None or not hmac.compare_digest(api_key.key_hash, _hash(key)):
        return None
    return api_key.agent_client


def revoke(api_key: ApiKey) -> None:
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    _clients.clear()
