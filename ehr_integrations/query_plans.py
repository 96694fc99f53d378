"""What each agent tool asks the EHR: one core query, and optional enrichments that only add detail.

A tool whose core query the site withholds answers `not_permitted`; an enrichment the site does not
advertise, grant or answer is left out, and the fields it would fill stay empty (never guessed).
The tool definitions (calls/registry/definitions.py) name their plan; the capabilities
(ehr_integrations/fhir/capabilities.py), Test connection and the scope warnings read it.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Need:
    resource_type: str
    permission: str  # SMART v2 letter: r (read), s (search) or c (create: writes)


@dataclass(frozen=True)
class Enrichment:
    name: str  # also the key under `enrichments:` in a site's capability overrides
    needs: tuple[Need, ...]  # each is enough on its own for part of the enrichment
    fields: tuple[str, ...]  # flat fields left empty without it
    description: str


@dataclass(frozen=True)
class QueryPlan:
    tool: str
    core: Need
    enrichments: tuple[Enrichment, ...] = ()

    def needs(self) -> dict[str, str]:
        """Resource type -> SMART v2 letters, the core's and every enrichment's."""
        merged: dict[str, str] = {}
        for need in (self.core, *(n for e in self.enrichments for n in e.needs)):
            letters = merged.get(need.resource_type, "")
            merged[need.resource_type] = "".join(sorted(set(letters + need.permission), key="rs".index))
        return merged


def _names(*types: str, fields: tuple[str, ...]) -> Enrichment:
    return Enrichment(
        "reference_reads",
        tuple(Need(t, "r") for t in types),
        fields,
        "names behind references (clinicians, places, medicines) read when the record only links them",
    )


MATCH = Enrichment("match", (Need("Patient", "s"),), (), "Patient/$match before the search sets")
DISPENSES = Enrichment(
    "dispenses",
    (Need("MedicationDispense", "s"),),
    ("refills_remaining", "last_filled", "refill_eligible"),
    "MedicationDispense searches for refills used and the last fill",
)
PLANS: dict[str, QueryPlan] = {
    "verify": QueryPlan("verify", Need("Patient", "s"), (MATCH,)),
    "patient": QueryPlan("patient", Need("Patient", "r")),
    "appointments": QueryPlan(
        "appointments",
        Need("Appointment", "s"),
        (_names("Practitioner", "Location", fields=("provider_name", "location")),),
    ),
    "medications": QueryPlan(
        "medications",
        Need("MedicationRequest", "s"),
        (DISPENSES, _names("Medication", "Practitioner", fields=("name", "prescriber_name"))),
    ),
    "messages": QueryPlan("messages", Need("Communication", "s"), (_names("Practitioner", fields=("sender",)),)),
}


@dataclass(frozen=True)
class WritePlan:
    """A write tool: what it reads first, and the resource types it may create, in order of preference.

    The first route the server advertises (`create`) and the grant covers (`c`) is taken; with none,
    the request goes to the gateway's staff queue (ehr_integrations/fhir/write_routes.py). Kept apart
    from PLANS: a site that grants no write still answers every read.
    """

    tool: str
    reads: Need | None  # what the first step reads (the refill's MedicationRequest), or nothing
    routes: tuple[Need, ...]


WRITES: dict[str, WritePlan] = {
    "refill-requests": WritePlan(
        "refill-requests",
        Need("MedicationRequest", "r"),
        (Need("Task", "c"), Need("Communication", "c")),
    ),
    # A message is what Communication is for (Epic's R4 API creates these); a Task where only that is taken.
    "care-team-messages": WritePlan("care-team-messages", None, (Need("Communication", "c"), Need("Task", "c"))),
}
