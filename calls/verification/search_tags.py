"""Whose input a verification search carries, for the EHR breaker (ehr_integrations/transport/breaker.py).

A caller's input can make the EHR fail (a 5xx on one odd value); repeated, it would open the breaker
for every caller of the health system. So the search's failures count toward the breaker at most
once a minute per call, and per claimed value from one agent client (issue 18). The tags are keyed
digests: no identifier, call id or client id is in a cache key.
"""

import hashlib
import hmac

from django.conf import settings

from calls.models import CallSession
from compliance.phi_logging import sensitive_phi


def _digest(text: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"breaker:{text}".encode(), hashlib.sha256).hexdigest()[:32]


@sensitive_phi
def for_search(call: CallSession, given: dict[str, str]) -> tuple[str, ...]:
    """The call, and each claimed value as this agent client at this health system gave it."""
    scope = f"{call.health_system_id}:{call.agent_client_id}"
    claims = (_digest(f"claim:{scope}:{name}:{value}") for name, value in sorted(given.items()))
    return (_digest(f"call:{call.id}"), *claims)
