"""Where a site's write goes: the first route of the tool's WritePlan the server advertises and the
grant covers, else the gateway's own staff queue. Nothing is assumed: before Test connection has
recorded a CapabilityStatement, no EHR route is taken (issue 21, "a claim to check").

    route = choose(WRITES["refill-requests"], client.site.facts, granted)
"""

from dataclasses import dataclass

from ehr_integrations.auth import scopes as smart_scopes
from ehr_integrations.auth import smart_auth, token_cache
from ehr_integrations.fhir.capabilities import ServerFacts
from ehr_integrations.fhir.client import FhirClient
from ehr_integrations.query_plans import WRITES, WritePlan

STAFF_QUEUE = "staff_queue"


@dataclass(frozen=True)
class WriteRoute:
    kind: str  # a resource type ("Task", "Communication") or STAFF_QUEUE
    conditional: bool  # the server honours If-None-Exist on it (else: search before and after)
    why: str  # for the admin and the logs: which claim decided it (never PHI)

    @property
    def to_ehr(self) -> bool:
        return self.kind != STAFF_QUEUE


def choose(plan: WritePlan, facts: ServerFacts, granted: tuple[str, ...] | None) -> WriteRoute:
    """The route for this plan given what the server advertised and the token granted (None: no token)."""
    if not facts.known:
        return WriteRoute(STAFF_QUEUE, False, "no CapabilityStatement recorded yet: run Test connection")
    parsed = [s for s in (smart_scopes.parse(x) for x in granted or ()) if s is not None]
    reasons = []
    for need in plan.routes:
        if not facts.supports(need.resource_type, "c"):
            reasons.append(f"the server does not advertise create on {need.resource_type}")
        elif granted is not None and not all(smart_scopes.covers(parsed, need.resource_type, p) for p in "crs"):
            # c to write it; r and s to find it again and read it back (exactly once, read back)
            reasons.append(f"the token does not grant system/{need.resource_type}.crs (or .read and .write)")
        else:
            conditional = facts.conditional_create(need.resource_type)
            how = "conditional create" if conditional else "search before and after create"
            return WriteRoute(
                need.resource_type, conditional, f"{need.resource_type} create is advertised and granted ({how})"
            )
    return WriteRoute(STAFF_QUEUE, False, "; ".join(reasons))


async def route_for(client: FhirClient, tool: str, *, deadline: float) -> WriteRoute:
    """The route of a write tool for this site now: its recorded statement and the current token's grant."""
    granted = None
    if smart_auth.requires_token(client.config):
        granted = await token_cache.granted_scopes(client.config, deadline=deadline) or None
    return choose(WRITES[tool], client.site.facts, granted)


def route_rows(facts: ServerFacts, granted: tuple[str, ...] | None) -> list[tuple[str, str, str]]:
    """(tool, route, why) for each write tool, for the health system's page and Test connection."""
    return [(tool, (r := choose(plan, facts, granted)).kind, r.why) for tool, plan in WRITES.items()]
