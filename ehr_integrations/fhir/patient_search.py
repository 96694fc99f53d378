"""Finding the patients a caller might be, the way the vendor allows it.

`$match` with certain matches where the vendor supports it and the caller gave full demographics;
otherwise the vendor's minimum search sets, preferring demographic searches (so a wrong second
factor still names the patient it was aimed at, for the per-patient lockout) over identifier ones.
A refused `$match` (the site's scopes or server do not allow it) falls back to the search sets in
the same turn and is remembered for the connection for an hour, so the next caller does not pay
for it. Every caller value is escaped (never an OR list or a system|value pair), an MRN search
carries the birth date when the caller gave it, and no search is by birth date alone.
"""

from ehr_integrations.errors import EHRRequestRejected
from ehr_integrations.fhir.client import FhirClient
from ehr_integrations.fhir.escaping import escape
from ehr_integrations.identity import mrn_search_token
from ehr_integrations.normalize.flat import FlatPatient
from ehr_integrations.normalize.mapping import Mapping
from ehr_integrations.normalize.names import same_name
from ehr_integrations.normalize.patient import normalize_patient
from ehr_integrations.presets import Preset

# FHIR Patient search parameter -> the caller identifier that fills it.
PARAM_SOURCES = {
    "birthdate": "date_of_birth",
    "family": "family_name",
    "given": "given_name",
    "identifier": "mrn",
    "phone": "phone",
}
MATCH_NEEDS = ("date_of_birth", "family_name", "given_name")
NAME_PARAMS = ("family", "given")
EVEN_WORK = 2  # normalizations per search whatever it found (the ambiguous case finds two)
# A patient like any other to the normalizer, which no caller can match (it is never compared).
STAND_IN: dict = {
    "resourceType": "Patient",
    "id": "stand-in",
    "active": True,
    "name": [{"use": "official", "text": "Pat Standin", "family": "Standin", "given": ["Pat"]}],
    "birthDate": "1900-01-01",
    "identifier": [
        {"use": "usual", "type": {"text": "MRN", "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203",
         "code": "MR"}]}, "system": "urn:oid:0.0", "value": "0"},
        {"use": "usual", "type": {"text": "SSN"}, "system": "urn:oid:2.16.840.1.113883.4.1", "value": "000000000"},
    ],
    "telecom": [{"system": "phone", "value": "555-555-0100", "use": "home"}],
}  # fmt: skip
# The answers that mean "this server will not do $match for us" (not a failure to retry), as does an
# OperationOutcome `not-supported` with any status; a 401 is never one (the client refreshes the token
# and asks once more).
MATCH_REFUSALS = (403, 404, 405, 501)
MATCH_REFUSALS_KEPT = (404, 405, 501)
MATCH_REFUSAL_CODES = ("forbidden", "security", "not-supported")


def _usable_sets(preset: Preset, available: set[str]) -> list[tuple[str, ...]]:
    # A birth date alone names every patient born that day: never a search of its own.
    sets = [s for s in preset.patient_search_sets if tuple(s) != ("birthdate",)]
    sets = [s for s in sets if all(PARAM_SOURCES.get(p) in available for p in s)]
    # Demographic searches first, identifier searches last; bigger sets are more selective.
    return sorted(sets, key=lambda s: ("identifier" in s, -len(s)))


def extra_identifiers_needed(preset: Preset, available: set[str]) -> list[str]:
    """What the caller must add before the vendor can be searched at all ([] when a search is possible)."""
    if _usable_sets(preset, available):
        return []
    options = [
        [PARAM_SOURCES[p] for p in s if PARAM_SOURCES.get(p) not in available] for s in preset.patient_search_sets
    ]
    options = [o for o in options if o]
    return min(options, key=lambda o: (len(o), "mrn" in o)) if options else []


def _params(search_set: tuple[str, ...], given: dict[str, str], preset: Preset) -> dict[str, str]:
    """The search's parameters: every caller value escaped; an MRN search narrowed by the birth date."""
    names = list(search_set)
    if "identifier" in names and "birthdate" not in names and "date_of_birth" in given:
        names.append("birthdate")
    params = {p: escape(given[PARAM_SOURCES[p]]) for p in names}
    if "identifier" in params:
        params["identifier"] = mrn_search_token(params["identifier"], preset.mrn_identifier)
    return params


def _match_body(given: dict[str, str], preset: Preset) -> dict:
    patient: dict = {
        "resourceType": "Patient",
        "birthDate": given["date_of_birth"],
        "name": [{"family": given["family_name"], "given": [given["given_name"]]}],
    }
    if "mrn" in given:  # the caller's value as given: a "|" in it is part of the value, never a system
        system = preset.mrn_identifier.search_system
        patient["identifier"] = [{"system": system, "value": given["mrn"]} if system else {"value": given["mrn"]}]
    if "phone" in given:
        patient["telecom"] = [{"system": "phone", "value": given["phone"]}]
    return {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "resource", "resource": patient},
            {"name": "onlyCertainMatches", "valueBoolean": True},
        ],
    }


async def _match(client: FhirClient, given: dict[str, str], preset: Preset, *, deadline: float) -> list[dict]:
    bundle = await client.post_operation("Patient/$match", _match_body(given, preset), deadline=deadline)
    entries = bundle.get("entry") or []
    return [e["resource"] for e in entries if (e.get("resource") or {}).get("resourceType") == "Patient"]


async def find_candidates(
    client: FhirClient, mapping: Mapping, given: dict[str, str], *, deadline: float
) -> list[FlatPatient]:
    """Patients the EHR returns for what the caller said, as flat patients (identifiers included).

    A certain `$match` answers alone; when it finds no certain match, the site's search sets run,
    so a wrong second factor still yields the patient it was aimed at (for the per-patient lockout).
    A name the caller gave must equal the candidate's (compared locally, case and accents aside):
    a server's prefix search for "Ann" never makes Anna or Annabel a candidate.
    """
    caps = (await client.capabilities(deadline=deadline)).require("verify")
    preset, mapping = caps.preset, caps.applied_to(mapping)
    resources: list[dict] = []
    if preset.supports_match and all(k in given for k in MATCH_NEEDS):
        resources = await _match_unless_refused(client, given, preset, deadline=deadline)
    if not resources:
        usable = _usable_sets(preset, set(given))
        if not usable:
            return []
        result = await client.search("Patient", _params(usable[0], given, preset), deadline=deadline, max_pages=2)
        searched = [PARAM_SOURCES[p] for p in usable[0] if p in NAME_PARAMS]
        return [c for c in _normalized(result.resources, mapping) if _names_agree(c, given, searched)]
    return _normalized(resources, mapping)


def _normalized(resources: list[dict], mapping: Mapping) -> list[FlatPatient]:
    """The candidates as flat patients, with the same work done for none, one or two of them: the time a
    failed turn takes must not tell a caller whether the EHR found anybody (issue 18). Stand-ins pad
    the work to EVEN_WORK normalizations and are dropped."""
    padding = [STAND_IN] * max(0, EVEN_WORK - len(resources))
    flat = [normalize_patient(resource, mapping) for resource in [*resources, *padding]]
    return flat[: len(resources)]


def _names_agree(candidate: FlatPatient, given: dict[str, str], searched: list[str]) -> bool:
    """The name parts the search used equal the candidate's (the server matched them as prefixes)."""
    return all(same_name(given[key], getattr(candidate, key)) for key in searched)


async def _match_unless_refused(
    client: FhirClient, given: dict[str, str], preset: Preset, *, deadline: float
) -> list[dict]:
    """`$match`; a refusal falls back to the search sets in this turn ([]), and is remembered for the
    connection only when the server answered it as FHIR says "I do not do this" (404/405/501, or an
    OperationOutcome forbidden/security/not-supported): an HTML 403 from a firewall in front of the
    EHR, which a caller's input may provoke, must not switch `$match` off for everyone."""
    try:
        return await _match(client, given, preset, deadline=deadline)
    except EHRRequestRejected as refused:
        if refused.status not in MATCH_REFUSALS and refused.reason != "not_supported":
            raise
        if refused.status in MATCH_REFUSALS_KEPT or refused.outcome_code in MATCH_REFUSAL_CODES:
            await client.remember_refusal("match", deadline=deadline)
    return []
