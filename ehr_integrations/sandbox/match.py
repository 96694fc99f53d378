"""Patient/$match: score candidates against the supplied Patient and grade each match.

Grades follow the FHIR match-grade extension: `certain` needs the MRN plus a birth date or family
name, or family + given + birth date + phone; `probable` is family + given + birth date; `possible`
is any two of family, given, birth date and phone. A supplied birth date or MRN that disagrees
rules the candidate out. With onlyCertainMatches=true only a single certain match is returned
(FHIR: when several are certain, none is).
"""

from dataclasses import dataclass

from ehr_integrations.sandbox.population import Population
from ehr_integrations.sandbox.records import PatientRecord
from ehr_integrations.sandbox.search_values import fold, phone_digits

MATCH_GRADE = "http://hl7.org/fhir/StructureDefinition/match-grade"
DEFAULT_COUNT = 10
_WEIGHTS = {"identifier": 0.4, "family": 0.2, "given": 0.15, "birthDate": 0.2, "phone": 0.05}


class MatchRefused(ValueError):
    pass


@dataclass(frozen=True)
class Wanted:
    family: str | None
    given: str | None
    birth_date: str | None
    identifiers: frozenset[str]
    phone: str | None

    @classmethod
    def from_patient(cls, resource: dict) -> "Wanted":
        name = (resource.get("name") or [{}])[0]
        phones = [t.get("value", "") for t in resource.get("telecom", []) if t.get("system", "phone") == "phone"]
        return cls(
            family=name.get("family"),
            given=(name.get("given") or [None])[0],
            birth_date=resource.get("birthDate"),
            identifiers=frozenset(i["value"] for i in resource.get("identifier", []) if i.get("value")),
            phone=phone_digits(phones[0]) if phones else None,
        )


@dataclass(frozen=True)
class Match:
    patient_id: str
    score: float
    grade: str


def parse_parameters(body: dict) -> tuple[Wanted, bool, int]:
    if body.get("resourceType") != "Parameters":
        raise MatchRefused("the body must be a Parameters resource")
    params = {p.get("name"): p for p in body.get("parameter", [])}
    resource = params.get("resource", {}).get("resource")
    if not resource or resource.get("resourceType") != "Patient":
        raise MatchRefused("the 'resource' parameter must hold a Patient")
    only_certain = bool(params.get("onlyCertainMatches", {}).get("valueBoolean", False))
    count = int(params.get("count", {}).get("valueInteger", DEFAULT_COUNT))
    return Wanted.from_patient(resource), only_certain, count


def find(population: Population, wanted: Wanted, *, only_certain: bool, count: int) -> list[Match]:
    """The graded matches, best first."""
    matches = [m for m in (_grade(population.patients[i], wanted) for i in _candidates(population, wanted)) if m]
    matches.sort(key=lambda m: (-m.score, m.patient_id))
    if only_certain:
        certain = [m for m in matches if m.grade == "certain"]
        return certain if len(certain) == 1 else []
    return matches[:count]


def _candidates(population: Population, wanted: Wanted) -> set[str]:
    ids: set[str] = set()
    for identifier in wanted.identifiers:
        if identifier in population.by_mrn:
            ids.add(population.by_mrn[identifier])
    if wanted.phone:
        ids.update(population.by_phone.get(wanted.phone, []))
    if wanted.family:
        ids.update(population.by_family.get(wanted.family.lower(), []))
    if wanted.birth_date:
        ids.update(i for i in population.by_birth_date_text(wanted.birth_date))
    return ids


def _grade(patient: PatientRecord, wanted: Wanted) -> Match | None:
    if wanted.birth_date and wanted.birth_date != patient.birth_date.isoformat():
        return None
    if wanted.identifiers and patient.mrn not in wanted.identifiers:
        return None
    hits = {
        "identifier": bool(wanted.identifiers),
        "family": bool(wanted.family) and fold(wanted.family) == fold(patient.family),
        "given": bool(wanted.given) and fold(wanted.given) in {fold(patient.given), fold(patient.preferred_name or "")},
        "birthDate": bool(wanted.birth_date),
        "phone": bool(wanted.phone) and bool(patient.phone) and wanted.phone == phone_digits(patient.phone or ""),
    }
    grade = _grade_name(hits)
    if grade is None:
        return None
    return Match(patient.id, round(sum(_WEIGHTS[k] for k, hit in hits.items() if hit), 2), grade)


def _grade_name(hits: dict[str, bool]) -> str | None:
    if hits["identifier"] and (hits["birthDate"] or hits["family"]):
        return "certain"
    if hits["family"] and hits["given"] and hits["birthDate"]:
        return "certain" if hits["phone"] else "probable"
    if sum(hits[k] for k in ("family", "given", "birthDate", "phone")) >= 2:
        return "possible"
    return None
