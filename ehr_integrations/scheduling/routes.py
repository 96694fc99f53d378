"""Which scheduling path a site's server offers, from its effective capabilities (issue 22).

`slot_search`: Slot search, Appointment create and patch advertised and granted (Oracle Health, plain
R4): the gateway searches free slots, POSTs the Appointment and PATCHes it to cancel. With nothing
advertised (or before Test connection recorded a CapabilityStatement), scheduling routes to the
scheduling transfer target and the EHR sees nothing. The Argonaut `$find` / `$book` path on an
STU3 base (Epic) is named here for when a site has one; without it, Epic sites route to transfer.
"""

from dataclasses import dataclass

from ehr_integrations.auth import scopes as smart_scopes
from ehr_integrations.auth import smart_auth, token_cache
from ehr_integrations.fhir.capabilities import ServerFacts
from ehr_integrations.fhir.client import FhirClient
from ehr_integrations.scheduling import operations

SLOT_SEARCH = "slot_search"
OPERATIONS = "operations"  # Argonaut $find / $hold / $book on the connection's STU3 base (Epic)
TRANSFER = "transfer"
# What the slot path asks of the token: find slots, book, find again, read back and cancel.
SLOT_NEEDS = (("Slot", "rs"), ("Appointment", "crsu"))


@dataclass(frozen=True)
class SchedulingRoute:
    kind: str  # SLOT_SEARCH, OPERATIONS or TRANSFER
    conditional: bool  # the server honours If-None-Exist on Appointment
    why: str  # for the admin and the logs (never PHI)

    @property
    def to_ehr(self) -> bool:
        return self.kind != TRANSFER

    @property
    def cancels(self) -> bool:
        """Whether the gateway can cancel on this path (a PATCH of the status: the slot-search path only)."""
        return self.kind == SLOT_SEARCH


def _interactions(facts: ServerFacts, resource_type: str) -> tuple[str, ...]:
    return tuple(facts.resources.get(resource_type, {}).get("interactions", ()))


def choose(facts: ServerFacts, granted: tuple[str, ...] | None) -> SchedulingRoute:
    """The scheduling path given what the server advertised and the token granted (None: no token)."""
    if not facts.known:
        return SchedulingRoute(TRANSFER, False, "no CapabilityStatement recorded yet: run Test connection")
    if "search-type" not in _interactions(facts, "Slot"):
        return SchedulingRoute(TRANSFER, False, "the server does not advertise Slot search")
    appointment = _interactions(facts, "Appointment")
    if not {"create", "patch"} <= set(appointment):
        return SchedulingRoute(TRANSFER, False, "the server does not advertise Appointment create and patch")
    parsed = [s for s in (smart_scopes.parse(x) for x in granted or ()) if s is not None]
    for resource_type, letters in SLOT_NEEDS:
        if granted is not None and not all(smart_scopes.covers(parsed, resource_type, p) for p in letters):
            return SchedulingRoute(TRANSFER, False, f"the token does not grant system/{resource_type}.{letters}")
    conditional = facts.conditional_create("Appointment")
    return SchedulingRoute(SLOT_SEARCH, conditional, "Slot search, Appointment create and patch are advertised")


async def route_for(client: FhirClient, *, deadline: float, stu3_base_url: str = "") -> SchedulingRoute:
    """The site's scheduling path now (on the I/O loop: the grant is the current token's). Without the
    R4 slot path, a site with a scheduling STU3 base takes the operations its STU3 statement lists."""
    granted = None
    if smart_auth.requires_token(client.config):
        granted = await token_cache.granted_scopes(client.config, deadline=deadline) or None
    chosen = choose(client.site.facts, granted)
    if chosen.to_ehr or not stu3_base_url:
        return chosen
    parsed = [s for s in (smart_scopes.parse(x) for x in granted or ()) if s is not None]
    if granted is not None and not all(smart_scopes.covers(parsed, "Appointment", p) for p in "rc"):
        return SchedulingRoute(TRANSFER, False, "the token does not grant system/Appointment.rc for $find and $book")
    if not await operations.advertised(operations.stu3_client(client, stu3_base_url), deadline=deadline):
        return SchedulingRoute(TRANSFER, False, "the STU3 statement does not list $find, $hold and $book")
    return SchedulingRoute(OPERATIONS, False, "Appointment $find, $hold and $book on the STU3 base")


def route_row(facts: ServerFacts, granted: tuple[str, ...] | None, stu3_base_url: str) -> tuple[str, str, str]:
    """(tool, route, why) of scheduling for the admin's "where writes go": the STU3 statement is read
    at call time, so without the R4 path a STU3 base shows as the operations to be checked then."""
    chosen = choose(facts, granted)
    if not chosen.to_ehr and stu3_base_url:
        return "scheduling", OPERATIONS, f"{chosen.why}; $find, $hold and $book on the STU3 base, checked at call time"
    return "scheduling", chosen.kind, chosen.why
