"""The deliberate hard cases every population carries, planted on its first patients.

Verification and normalization must cope with them: two people with the same name and birth date,
a patient without a phone, a shared household phone, cancelled and past appointments, and a
medication with no refills left. `complete` is a patient with one of everything (golden tests);
`mrn_decoy` carries its MRN value under another system when the site's MRN system is in use.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ehr_integrations.sandbox.generate import World

MINIMUM_PATIENTS = 6
OXYCODONE = "1049621"  # oxycodone hydrochloride 5 MG Oral Tablet: a schedule II refill (issue 21)
ATORVASTATIN = "617314"
LISINOPRIL = "314076"


def plant_hard_cases(world: "World") -> dict[str, object]:
    """Rewrite the first patients into the hard cases and return where they are (ids only)."""
    patients = world.population.patients
    ids = list(patients)
    if len(ids) < MINIMUM_PATIENTS:
        return {}
    complete, twin_a, twin_b, no_phone, household_a, household_b = ids[:MINIMUM_PATIENTS]
    # With mrn_system=site this patient carries `complete`'s MRN value as an account number.
    mrn_decoy = ids[MINIMUM_PATIENTS] if len(ids) > MINIMUM_PATIENTS else no_phone
    clinician = world.practitioner_ids[0]
    first = patients[complete]
    patients[complete] = first._replace(phone=first.phone or "+18165550100", preferred_name=None)
    twin = patients[twin_a]
    patients[twin_b] = patients[twin_b]._replace(
        given=twin.given, family=twin.family, birth_date=twin.birth_date, gender=twin.gender
    )
    patients[no_phone] = patients[no_phone]._replace(phone=None)
    shared = patients[household_a].phone or "+18165550199"
    patients[household_a] = patients[household_a]._replace(phone=shared)
    patients[household_b] = patients[household_b]._replace(phone=shared, family=patients[household_a].family)

    upcoming = world.add_appointment(complete, clinician, offset=14, status="booked")
    cancelled = world.add_appointment(complete, clinician, offset=21, status="cancelled")
    past = world.add_appointment(complete, clinician, offset=-30, status="fulfilled")
    with_refills = world.add_prescription(complete, clinician, status="active", allowed=3, fills=1)
    no_refills = world.add_prescription(complete, clinician, status="active", allowed=2, fills=3)
    stopped = world.add_prescription(complete, clinician, status="stopped", allowed=1, fills=1)
    message = world.add_message(complete, clinician)
    # Last, so the draws before it (and every other hard case) stay as they were.
    # The refill hard cases, on one patient with fixed medicines (the draws above may pick anything):
    controlled = world.add_prescription(no_phone, clinician, status="active", allowed=2, fills=1, rxnorm=OXYCODONE)
    refillable = world.add_prescription(no_phone, clinician, status="active", allowed=3, fills=1, rxnorm=ATORVASTATIN)
    renewal = world.add_prescription(no_phone, clinician, status="active", allowed=2, fills=3, rxnorm=LISINOPRIL)
    return {
        "complete": complete,
        "shared_name_and_birth_date": [twin_a, twin_b],
        "no_phone": no_phone,
        "shared_phone": [household_a, household_b],
        "upcoming_appointment": upcoming.id,
        "cancelled_appointment": cancelled.id,
        "past_appointment": past.id,
        "refills_left": with_refills.id,
        "no_refills": no_refills.id,
        "stopped_medication": stopped.id,
        "message": message.id,
        "mrn_decoy": mrn_decoy,
        "refill_requests": {
            "patient": no_phone,
            "controlled_substance": controlled.id,
            "refillable": refillable.id,
            "no_refills": renewal.id,
        },
    }


def ids_in(cases: object) -> set[str]:
    """Every id named by the hard cases (as /_control/hard-cases answers them), at any depth: tests and
    benches that want an ordinary patient leave these out."""
    if isinstance(cases, str):
        return {cases}
    if isinstance(cases, dict):
        return set().union(*(ids_in(v) for v in cases.values()))
    if isinstance(cases, list):
        return set().union(*(ids_in(v) for v in cases))
    return set()
