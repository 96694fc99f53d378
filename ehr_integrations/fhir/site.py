"""One health system's FHIR client with its site capabilities, built in the calling thread.

    client = client_for(health_system)    # reads the database at most every LOCAL_CACHE_SECONDS
    caps = await client.capabilities(deadline=deadline)   # on the I/O loop: adds the grant

What Test connection recorded from the CapabilityStatement and the site's overrides are read here
(the I/O loop must not query the database); the grant and the refusals are added on the loop.
"""

import logging
from types import MappingProxyType

from ehr_integrations.auth.connection_config import connection_config
from ehr_integrations.fhir.capabilities import Inputs, ServerFacts
from ehr_integrations.fhir.client import FhirClient
from ehr_integrations.models import EHRConnection, HealthSystem
from ehr_integrations.presets import Preset, overrides, preset
from ehr_integrations.transport.local_cache import LocalCache

logger = logging.getLogger(__name__)
_inputs = LocalCache("site_capabilities").clear_on_change(EHRConnection, HealthSystem)


def site_inputs(health_system: HealthSystem) -> Inputs:
    """The vendor preset, what the server advertised and the site's overrides (calling thread only)."""
    return _inputs.get_or_load(health_system.pk, lambda: _read(health_system))


def _read(health_system: HealthSystem) -> Inputs:
    row = (
        EHRConnection.objects.filter(health_system_id=health_system.pk)
        .values_list("health_system__vendor", "server_capabilities", "capability_overrides")
        .get()
    )
    vendor, facts, stored = row
    site_overrides = overrides.usable(stored)
    if len(site_overrides) != len(stored or {}):
        dropped = sorted(set(stored) - set(site_overrides))
        logger.warning("health system %s: capability overrides %s are invalid and ignored", health_system.pk, dropped)
    return Inputs(preset(vendor), ServerFacts.from_json(facts), MappingProxyType(site_overrides))


def site_preset(health_system: HealthSystem) -> Preset:
    """The preset with the site's overrides (search sets, MRN system...), for the calling thread."""
    inputs = site_inputs(health_system)
    return overrides.apply(inputs.preset, dict(inputs.overrides))


def client_for(health_system: HealthSystem) -> FhirClient:
    return FhirClient(connection_config(health_system), site_inputs(health_system))
