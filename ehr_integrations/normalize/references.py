"""Names behind references: the display, else a contained resource, else an included or read one.

Never a guess: a reference whose type cannot be told is used only when it is the only candidate.
"""

import re
from collections.abc import Iterable, Mapping

from ehr_integrations.normalize.mapping import Mapping as FieldMapping
from ehr_integrations.normalize.values import concept_text

PEOPLE = ("Practitioner", "PractitionerRole")
PLACES = ("Location",)
SENDERS = ("Practitioner", "PractitionerRole", "Organization", "Patient", "RelatedPerson", "CareTeam", "Device")
DRUGS = ("Medication",)

Known = Mapping[str, dict]  # "Practitioner/123" -> resource (included or read)
# A rule may pick a reference's text ("Practitioner/123"): that is a pointer to follow, not a name.
LITERAL_REFERENCE = re.compile(r"^(https?://\S+/)?[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}(/_history/\S+)?$")


def index(resources: Iterable[object]) -> dict[str, dict]:
    """Key resources by "Type/id" for resolution."""
    found = {}
    for resource in resources:
        if isinstance(resource, dict) and isinstance(resource.get("id"), str):
            found[f"{resource.get('resourceType')}/{resource['id']}"] = resource
    return found


def reference_key(reference: object) -> str | None:
    """ "Type/id" of a literal reference, relative or absolute, ignoring any _history part."""
    if not isinstance(reference, str) or "/" not in reference:
        return None
    parts = reference.split("/_history/")[0].rstrip("/").split("/")
    if len(parts) < 2 or not parts[-2] or not parts[-1] or not parts[-2][0].isupper():
        return None
    return f"{parts[-2]}/{parts[-1]}"


def _contained(owner: dict, reference: str) -> dict | None:
    contained = owner.get("contained")
    for resource in contained if isinstance(contained, list) else ():
        if isinstance(resource, dict) and f"#{resource.get('id')}" == reference:
            return resource
    return None


def target(value: dict, owner: dict, known: Known) -> dict | None:
    """The resource a Reference points at, if it is contained or known."""
    reference = value.get("reference")
    if isinstance(reference, str) and reference.startswith("#"):
        return _contained(owner, reference)
    key = reference_key(reference)
    found = known.get(key) if key else None
    return found if isinstance(found, dict) else None


def _type_of(value: object, owner: dict, known: Known) -> str | None:
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("resourceType"), str):
        return value["resourceType"]
    key = reference_key(value.get("reference"))
    if key:
        return key.split("/")[0]
    resolved = target(value, owner, known)
    if resolved and isinstance(resolved.get("resourceType"), str):
        return resolved["resourceType"]
    return value.get("type") if isinstance(value.get("type"), str) else None


def human_name(names: object) -> str | None:
    """A person's spoken name: the official (or first) HumanName's text, else prefix, given and family."""
    if not isinstance(names, list):
        return None
    usable = [n for n in names if isinstance(n, dict)]
    chosen = next((n for n in usable if n.get("use") == "official"), usable[0] if usable else None)
    if chosen is None:
        return None
    if isinstance(chosen.get("text"), str) and chosen["text"].strip():
        return chosen["text"].strip()
    parts = []
    for key in ("prefix", "given"):
        values = chosen.get(key)
        parts += [p for p in values if isinstance(p, str)] if isinstance(values, list) else []
    if isinstance(chosen.get("family"), str):
        parts.append(chosen["family"])
    return " ".join(p.strip() for p in parts if p.strip()) or None


def resource_name(resource: dict) -> str | None:
    """What to call a resource out loud."""
    kind = resource.get("resourceType")
    if kind in ("Practitioner", "Patient", "RelatedPerson"):
        return human_name(resource.get("name"))
    if kind == "PractitionerRole":
        practitioner = resource.get("practitioner")
        return concept_text(practitioner.get("display")) if isinstance(practitioner, dict) else None
    if kind == "Medication":
        return concept_text(resource.get("code"))
    name = resource.get("name")
    return name.strip() or None if isinstance(name, str) else None


def _is_words(value: object) -> bool:
    return isinstance(value, str) or (isinstance(value, dict) and ("coding" in value or "text" in value))


def _candidate(value: object) -> object:
    return {"reference": value} if isinstance(value, str) and LITERAL_REFERENCE.match(value) else value


def pick(candidates: list, owner: dict, known: Known, types: tuple[str, ...]) -> object | None:
    """The first candidate of an allowed type; an untyped one only when it is the sole candidate."""
    candidates = [_candidate(value) for value in candidates]
    for candidate in candidates:
        if _is_words(candidate) or _type_of(candidate, owner, known) in types:
            return candidate
    if len(candidates) == 1 and isinstance(candidates[0], dict) and _type_of(candidates[0], owner, known) is None:
        return candidates[0]
    return None


def name_of(candidates: list, owner: object, known: Known, types: tuple[str, ...]) -> str | None:
    """The spoken name of the first suitable candidate: a string, a CodeableConcept, a resource or a Reference."""
    owner = owner if isinstance(owner, dict) else {}
    chosen = pick(candidates, owner, known, types)
    if chosen is None:
        return None
    if _is_words(chosen):
        return concept_text(chosen)
    if "resourceType" in chosen:
        return resource_name(chosen)
    if isinstance(chosen.get("display"), str) and chosen["display"].strip():
        return chosen["display"].strip()
    resolved = target(chosen, owner, known)
    return resource_name(resolved) if resolved else None


def unresolved(candidates: list, owner: object, known: Known, types: tuple[str, ...]) -> str | None:
    """The "Type/id" the chosen candidate needs read before it can be named, if any."""
    owner = owner if isinstance(owner, dict) else {}
    chosen = pick(candidates, owner, known, types)
    if not isinstance(chosen, dict) or "resourceType" in chosen or name_of([chosen], owner, known, types):
        return None
    return reference_key(chosen.get("reference"))


def missing(
    mapping: FieldMapping, flat: str, resource: object, known: Known, named: Mapping[str, tuple[str, ...]]
) -> set[str]:
    """References ("Type/id") that the named fields of one resource still need read to be spoken."""
    owner = resource if isinstance(resource, dict) else {}
    wanted = (unresolved(mapping.values(flat, field, owner), owner, known, types) for field, types in named.items())
    return {key for key in wanted if key}
