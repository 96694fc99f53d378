from collections.abc import Sequence
from datetime import date
from zoneinfo import ZoneInfo

from ehr_integrations.normalize import references
from ehr_integrations.normalize.flat import Medication
from ehr_integrations.normalize.mapping import Mapping
from ehr_integrations.normalize.references import DRUGS, PEOPLE, Known, name_of, reference_key
from ehr_integrations.normalize.values import code, count, flag, full_date, local_date, text

NAMED = {"name": DRUGS, "prescriber_name": PEOPLE}
# Dispenses that never reached the patient are not fills.
NOT_FILLED = {"cancelled", "declined", "entered-in-error", "stopped", "preparation", "in-progress", "on-hold"}


def fills_of(request: dict, dispenses: Sequence[object]) -> list[dict]:
    """The dispenses that filled this MedicationRequest."""
    if not isinstance(request.get("id"), str):
        return []
    key = f"MedicationRequest/{request['id']}"
    found = []
    for dispense in dispenses:
        if not isinstance(dispense, dict) or str(dispense.get("status")) in NOT_FILLED:
            continue
        prescriptions = dispense.get("authorizingPrescription")
        for prescription in prescriptions if isinstance(prescriptions, list) else ():
            if isinstance(prescription, dict) and reference_key(prescription.get("reference")) == key:
                found.append(dispense)
                break
    return found


def refills_remaining(allowed: int | None, fills: int | None) -> int | None:
    """Repeats allowed less refills used; the first fill is not a refill (FHIR numberOfRepeatsAllowed)."""
    if allowed is None:
        return None
    if fills is None:
        return allowed
    return max(0, allowed - max(0, fills - 1))


def refill_eligible(status: str | None, validity_end: str | None, remaining: int | None, today: date) -> bool | None:
    """Active, still valid and a refill left; None when the status or the refills left are not known."""
    if status is None:
        return None
    if status != "active" or (validity_end is not None and validity_end < today.isoformat()):
        return False
    if remaining is None:
        return None
    return remaining > 0


def normalize_medication(
    resource: object,
    mapping: Mapping,
    *,
    today: date,
    tz: ZoneInfo,
    dispenses: Sequence[object] | None = None,
    known: Known | None = None,
) -> Medication:
    """A FHIR MedicationRequest as a flat Medication. `dispenses` None means the EHR gives none."""
    fhir = resource if isinstance(resource, dict) else {}
    known = known or {}

    def values(field: str) -> list:
        return mapping.values("medication", field, fhir)

    def overridden(field: str) -> bool:
        return mapping.expression("medication", field) is not None

    status = code(values("status"))
    fills = fills_of(fhir, dispenses) if dispenses is not None else None
    if overridden("refills_remaining"):
        remaining = count(values("refills_remaining"))
    else:
        remaining = refills_remaining(count(values("refills_allowed")), len(fills) if fills is not None else None)
    if overridden("last_filled"):
        last_filled = local_date(values("last_filled"), tz)
    else:
        filled_on = [local_date([d.get("whenHandedOver") or d.get("whenPrepared")], tz) for d in fills or ()]
        last_filled = max(filter(None, filled_on), default=None)
    if overridden("refill_eligible"):
        eligible = flag(values("refill_eligible"))
    else:
        eligible = refill_eligible(status, full_date(values("validity_end")), remaining, today)
    return Medication(
        id=code(values("id")),
        name=name_of(values("name"), fhir, known, DRUGS),
        status=status,
        dosage=text(values("dosage")),
        prescriber_name=name_of(values("prescriber_name"), fhir, known, PEOPLE),
        refills_remaining=remaining,
        last_filled=last_filled,
        refill_eligible=eligible,
    )


def medication_references(resource: object, mapping: Mapping, known: Known) -> set[str]:
    """References ("Type/id") a medication's names still need read."""
    return references.missing(mapping, "medication", resource, known, NAMED)
