"""The compiled fast path answers exactly as fhirpathpy on every expression the mappings use."""

import copy
import random
from pathlib import Path

import pytest
import yaml
from fhirpathpy import compile as compile_fhirpath

from ehr_integrations.normalize.fhirpath_fast import Unsupported, compile_fast
from ehr_integrations.normalize.mapping import R4, compile_expression
from ehr_integrations.sandbox import flavours
from ehr_integrations.sandbox.generate import generate

PRESETS = Path(__file__).resolve().parents[2] / "ehr_integrations" / "presets"
RESOURCE_OF = {
    "patient": "Patient",
    "appointment": "Appointment",
    "medication": "MedicationRequest",
    "message": "Communication",
}
# Rules a site might write (docs/health-system-yaml.md), beside the presets' own.
EXTRA = {
    "patient": [
        "name.family",
        "name.given",
        "telecom.where(system = 'email').value.first()",
        "identifier.where(type.coding.where(code = 'MR').exists()).value.first()",
        "extension.where(url = 'http://example.org/phone').value",
        "name.where(use != 'old' and family.exists()).given",
        "iif(gender = 'female', 'F', 'M')",
        "name.where(family.startsWith('Mc')).family",
        "birthDate | birthDate",
    ],
    "appointment": ["participant.where(actor.reference.startsWith('Practitioner')).actor.display"],
    "medication": ["medication", "dosageInstruction.where(text.empty()).patientInstruction"],
    "message": ["payload.content", "sender.display"],
}


def _expressions() -> list[tuple[str, str]]:
    found = set()
    for path in PRESETS.glob("*.yaml"):
        for resource, fields in (yaml.safe_load(path.read_text()).get("fields") or {}).items():
            found.update((resource, text) for text in fields.values())
    for resource, texts in EXTRA.items():
        found.update((resource, text) for text in texts)
    return sorted(found)


def _corpus() -> dict[str, list[dict]]:
    population = generate(patients=40, seed=11)
    tables = {
        "Patient": population.patients,
        "Appointment": population.appointments,
        "MedicationRequest": population.medication_requests,
        "Communication": population.communications,
    }
    corpus: dict[str, list[dict]] = {name: [] for name in tables}
    for flavour in flavours.FLAVOURS.values():
        for resource_type, records in tables.items():
            corpus[resource_type] += [
                flavours.render(flavour, resource_type, record, population) for record in records.values()
            ]
    rng = random.Random(5)
    for resource_type, resources in corpus.items():
        corpus[resource_type] = resources + [_awkward(rng, r) for r in resources[:120] for _ in range(3)]
    return corpus


def _awkward(rng: random.Random, resource: dict) -> dict:
    """The same resource bent the ways real EHRs bend them: dropped, doubled and retyped elements."""
    bent = copy.deepcopy(resource)
    for _ in range(rng.randint(1, 4)):
        target = _some_dict(rng, bent)
        keys = [k for k in target if k != "resourceType"]
        if not keys:
            continue
        key = rng.choice(keys)
        move = rng.randrange(8)
        if move == 0:
            del target[key]
        elif move == 1:
            target[key] = [target[key], copy.deepcopy(target[key])] if not isinstance(target[key], list) else []
        elif move == 2:
            target[key] = 7
        elif move == 3:
            target["_" + key] = {"extension": [{"url": "http://example.org/absent", "valueCode": "unknown"}]}
        elif move == 4:
            target[key] = None
        elif move == 5:
            target[key] = True
        elif move == 6 and isinstance(target[key], list):
            target[key] = [None, *target[key]]
        else:
            target[key] = "official"
    return bent


def _some_dict(rng: random.Random, node: dict) -> dict:
    while rng.random() < 0.6:
        children = [v for v in node.values() if isinstance(v, dict)]
        children += [i for v in node.values() if isinstance(v, list) for i in v if isinstance(i, dict)]
        if not children:
            break
        node = rng.choice(children)
    return node


CORPUS = _corpus()


@pytest.mark.parametrize("resource, text", _expressions())
def test_the_fast_path_agrees_with_fhirpathpy(resource, text):
    fast = compile_fast(text)
    expression = compile_expression(text)
    reference = compile_fhirpath(text, model=R4)
    handled = 0
    for fhir in CORPUS[RESOURCE_OF[resource]]:
        try:
            expected = list(reference(fhir, {}))
        except Exception:
            expected = []
        assert expression.values(fhir) == expected, (text, fhir)
        if fast is not None:
            try:
                assert fast(fhir) == expected, (text, fhir)
                handled += 1
            except Unsupported:
                pass
    if fast is not None:
        assert handled, f"{text}: the fast path left every resource to fhirpathpy"


def test_the_presets_plain_expressions_take_the_fast_path():
    compiled = {text for _, text in _expressions() if compile_fast(text) is not None}
    assert "name.where(use = 'official' or use.empty()).first().given.first()" in compiled
    assert "telecom.where(system = 'phone' and (use.empty() or use != 'old')).value.first()" in compiled
    assert "iif(description.exists(), description, serviceType.text)" in compiled
    # Outside the subset: fhirpathpy alone.
    assert compile_fast("participant.actor.where(reference.empty()).display[1]") is None
    assert compile_fast("Patient.name.family") is None
    assert compile_fast("name.given.select($this)") is None
    assert compile_fast("name.where(use ~ 'official')") is None


def test_a_choice_element_is_left_to_the_r4_model():
    request = {"resourceType": "MedicationRequest", "medicationCodeableConcept": {"text": "Lisinopril"}}
    with pytest.raises(Unsupported):
        compile_fast("medication")(request)
    assert compile_expression("medication").values(request) == [{"text": "Lisinopril"}]
