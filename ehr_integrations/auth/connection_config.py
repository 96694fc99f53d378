"""Everything the EHR I/O loop needs about one health system, read from the database up front.

Code on the I/O loop must not query the database, so callers build a ConnectionConfig in their
own thread (`connection_config(health_system)`) and pass it in. It holds decrypted credentials:
never log it (the secret fields are excluded from repr).
"""

import dataclasses
import time

from ehr_integrations.auth import signing_keys
from ehr_integrations.models import AuthMethod, EHRConnection, HealthSystem, SigningKey
from ehr_integrations.presets import preset
from ehr_integrations.transport.connection import (
    BreakerPolicy,
    ConnectionConfig,
    SigningMaterial,
    host_of,
    origin_of,
)
from ehr_integrations.transport.local_cache import LocalCache

_configs = LocalCache("connection_config").clear_on_change(EHRConnection, HealthSystem, SigningKey)


def allowed_hosts(health_system: HealthSystem, token_url: str) -> frozenset[str]:
    hosts = {host_of(health_system.fhir_base_url), host_of(token_url)}
    hosts.update(h.lower() for h in health_system.extra_allowed_hosts.split())
    return frozenset(h for h in hosts if h)


def confirmed_token_hosts(health_system: HealthSystem, configured_token_url: str) -> frozenset[str]:
    """Hosts a discovered token endpoint may name besides the FHIR base's origin (see token_endpoint_allowed)."""
    hosts = {host_of(configured_token_url), *(h.lower() for h in health_system.extra_allowed_hosts.split())}
    hosts.update(_preset_token_hosts(health_system.vendor))
    return frozenset(h for h in hosts if h)


def _preset_token_hosts(vendor: str) -> tuple[str, ...]:
    try:
        return preset(vendor).token_hosts
    except KeyError:
        return ()


def token_endpoint_allowed(config: ConnectionConfig, token_url: str) -> bool:
    """A discovered token endpoint is used only on the FHIR base's origin (scheme, host, port) or on a
    confirmed host: a discovery document is a claim from outside, and the credential goes where it points."""
    try:
        same_origin = origin_of(token_url) == origin_of(config.fhir_base_url)
    except ValueError:
        return False
    return same_origin or host_of(token_url) in config.confirmed_token_hosts


def token_url_of(connection: EHRConnection) -> str:
    return connection.token_url or str(connection.discovery.get("token_endpoint", ""))


def connection_config(health_system: HealthSystem) -> ConnectionConfig:
    """One health system's connection settings, secret and current signing key (calling thread only).

    Read from the database at most every LOCAL_CACHE_SECONDS per process (local_cache.py). The
    first read for a private_key_jwt connection without any key generates one (it signs at once:
    nothing was published before it). Token URL: the configured one, else the discovered one.
    """
    config = _configs.get_or_load(health_system.pk, lambda: _read(health_system))
    if config.signing_key_until is not None and time.time() >= config.signing_key_until:
        _configs.forget(health_system.pk)
        config = _configs.get_or_load(health_system.pk, lambda: _read(health_system))
    return config


def forget() -> None:
    """Drop this process's copies after a change that sends no signal (a queryset update)."""
    _configs.clear()


def _read(health_system: HealthSystem) -> ConnectionConfig:
    connection = EHRConnection.objects.select_related("health_system").get(health_system=health_system)
    system = connection.health_system
    key, key_until = None, None
    if connection.auth_method == AuthMethod.PRIVATE_KEY_JWT:
        current = signing_keys.signing_key_for(system)
        key = SigningMaterial(current.kid, current.algorithm, signing_keys.private_pem(current))
        switch = signing_keys.next_switch(system)
        key_until = switch.timestamp() if switch else None
    config = ConnectionConfig(
        health_system_id=system.pk,
        slug=system.slug,
        vendor=system.vendor,
        fhir_base_url=system.fhir_base_url.rstrip("/"),
        token_url=connection.token_url,
        auth_method=connection.auth_method,
        client_id=connection.client_id,
        client_secret=connection.client_secret(),
        signing_key=key,
        scopes=tuple(connection.scope_list()),
        connect_timeout_s=connection.connect_timeout_s,
        read_timeout_s=connection.read_timeout_s,
        request_deadline_s=connection.request_deadline_s,
        max_retries=connection.max_retries,
        breaker=BreakerPolicy(
            failure_rate=connection.breaker_failure_rate,
            min_calls=connection.breaker_min_calls,
            window_s=float(connection.breaker_window_s),
            open_s=float(connection.breaker_open_s),
            half_open_probes=connection.breaker_half_open_probes,
        ),
        allowed_hosts=allowed_hosts(system, connection.token_url),
        signing_key_until=key_until,
        confirmed_token_hosts=confirmed_token_hosts(system, connection.token_url),
    )
    discovered = token_url_of(connection)
    if config.token_url or not discovered or not token_endpoint_allowed(config, discovered):
        return config  # a stored endpoint the rule refuses is discovered again, and refused with a diagnosis
    return dataclasses.replace(config, token_url=discovered, allowed_hosts=config.allowed_hosts | {host_of(discovered)})
