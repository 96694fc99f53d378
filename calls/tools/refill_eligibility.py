"""The first step of a refill request: look the medication up, decide what may be asked, and the
route the site's capabilities allow (issue 21). Runs on the EHR I/O loop; no database here.

- not the caller's, unknown or not active: refused with a `say`;
- a controlled substance (presets/lists/controlled_substances.yaml plus the site's), or a medicine the
  site excludes from phone refills (its `writes` settings): the pharmacy transfer;
- no refills left: a renewal request to the prescriber; else a refill request.
"""

from dataclasses import asdict, dataclass

from ehr_integrations.errors import EHRRequestRejected
from ehr_integrations.fhir import records
from ehr_integrations.fhir.client import FhirClient
from ehr_integrations.fhir.write_routes import route_for
from ehr_integrations.normalize.mapping import Mapping
from ehr_integrations.normalize.references import reference_key
from ehr_integrations.normalize.spoken_medicines import spoken_medicine
from ehr_integrations.presets.controlled import is_controlled
from ehr_integrations.presets.write_settings import WriteSettings

TOOL = "refill-requests"
UNKNOWN, INACTIVE, CONTROLLED = "unknown_medication", "inactive_medication", "controlled_substance"
EXCLUDED = "excluded_medication"  # the site does not take refills of it by phone


@dataclass(frozen=True)
class Eligibility:
    """What the look-up found: a verdict, and for an eligible medicine the plan of its write."""

    verdict: str  # "refill", "renewal", UNKNOWN, INACTIVE, CONTROLLED or EXCLUDED
    medication_request_id: str
    medicine: str | None = None  # the EHR's name
    spoken: str | None = None  # "atorvastatin 10 milligrams"
    prescriber: str | None = None  # "Practitioner/x"
    prescriber_name: str | None = None  # "Dr. Anita Patel"
    route: str = ""  # WriteRoute.kind
    conditional: bool = False

    def plan(self) -> dict:
        return asdict(self)


def _codes(fhir: dict) -> list[str]:
    concept = fhir.get("medicationCodeableConcept")
    codings = concept.get("coding") if isinstance(concept, dict) else None
    return [str(c.get("code")) for c in codings or [] if isinstance(c, dict) and c.get("code")]


def _requester(fhir: dict) -> str | None:
    requester = fhir.get("requester")
    reference = reference_key(requester.get("reference")) if isinstance(requester, dict) else None
    return reference if reference and reference.startswith(("Practitioner/", "PractitionerRole/")) else None


async def look_up(
    client: FhirClient,
    mapping: Mapping,
    settings: WriteSettings,
    *,
    patient_id: str,
    medication_request_id: str,
    deadline: float,
) -> Eligibility:
    """The verdict on one MedicationRequest for this patient; raises EHRError when the EHR cannot say."""
    try:
        fhir, flat = await records.fetch_one(client, mapping, "medication", medication_request_id, deadline=deadline)
    except EHRRequestRejected as refused:
        if refused.status in (0, 404, 410):  # an id no EHR could have, or none it knows
            return Eligibility(UNKNOWN, medication_request_id)
        raise
    subject = fhir.get("subject")
    if not isinstance(subject, dict) or reference_key(subject.get("reference")) != f"Patient/{patient_id}":
        return Eligibility(UNKNOWN, medication_request_id)  # someone else's: as if it did not exist
    spoken = spoken_medicine(flat.name)
    found = {
        "medication_request_id": medication_request_id,
        "medicine": flat.name,
        "spoken": spoken.full if spoken else "your medication",
        "prescriber": _requester(fhir),
        "prescriber_name": flat.prescriber_name,
    }
    if flat.status != "active":
        return Eligibility(INACTIVE, **found)
    codes = _codes(fhir)
    if is_controlled(codes=codes, name=flat.name, ingredients=settings.controlled):
        return Eligibility(CONTROLLED, **found)
    if is_controlled(codes=codes, name=flat.name, ingredients=settings.excluded):
        return Eligibility(EXCLUDED, **found)
    route = await route_for(client, TOOL, deadline=deadline)
    verdict = "renewal" if flat.refills_remaining == 0 else "refill"
    return Eligibility(verdict, **found, route=route.kind, conditional=route.conditional)
