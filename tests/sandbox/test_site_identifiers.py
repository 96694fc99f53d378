"""mrn_system=site, in every flavour: MRNs under the site's own system with nothing saying "MRN", and a
decoy with the same value under another system that only a system|value search tells apart."""

import pytest

from ehr_integrations.sandbox.strict import DECOY_SYSTEM, SITE_MRN_SYSTEM


@pytest.fixture(params=["generic", "epic", "oracle_health"])
def site(request, sandbox_factory):
    handle = sandbox_factory(flavour=request.param)
    handle.reset()
    handle.set_strict(mrn_system="site")
    yield handle
    handle.reset()


def ids(bundle: dict) -> list[str]:
    return sorted(e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == "match")


def test_every_mrn_is_under_the_site_system_and_untyped(site):
    complete = site.hard_cases()["complete"]
    mrn = next(p["mrn"] for p in site.patients() if p["id"] == complete)

    identifiers = site.fhir_get(f"Patient/{complete}")["identifier"]
    listed = [
        i
        for e in site.fhir_get("Patient", {"_count": 20, "_id": complete})["entry"]
        for i in e["resource"]["identifier"]
    ]

    [site_mrn] = [i for i in identifiers if i.get("system") == SITE_MRN_SYSTEM]
    assert site_mrn["value"] == mrn and "type" not in site_mrn
    assert all(i.get("type", {}).get("text") != "MRN" for i in identifiers + listed)
    assert site.strict()["mrn_identifier_system"] == SITE_MRN_SYSTEM


def test_only_a_system_and_value_search_tells_the_patient_from_the_decoy(site):
    cases = site.hard_cases()
    mrn = next(p["mrn"] for p in site.patients() if p["id"] == cases["complete"])
    decoy = site.fhir_get(f"Patient/{cases['mrn_decoy']}")["identifier"]

    assert {"use": "secondary", "system": DECOY_SYSTEM, "value": mrn} in decoy
    assert ids(site.fhir_get("Patient", {"identifier": f"{SITE_MRN_SYSTEM}|{mrn}"})) == [cases["complete"]]
    assert ids(site.fhir_get("Patient", {"identifier": f"{DECOY_SYSTEM}|{mrn}"})) == [cases["mrn_decoy"]]
    assert ids(site.fhir_get("Patient", {"identifier": mrn})) == sorted([cases["complete"], cases["mrn_decoy"]])


def test_the_flavour_system_finds_nothing_under_site_and_everything_is_back_after_reset(site):
    complete = site.hard_cases()["complete"]
    mrn = next(p["mrn"] for p in site.patients() if p["id"] == complete)
    flavour_system = site.set_strict(mrn_system="flavour")["mrn_identifier_system"]
    site.set_strict(mrn_system="site")

    assert ids(site.fhir_get("Patient", {"identifier": f"{flavour_system}|{mrn}"})) == []
    site.reset()
    assert site.strict()["mrn_identifier_system"] == flavour_system
    assert ids(site.fhir_get("Patient", {"identifier": f"{flavour_system}|{mrn}"})) == [complete]
    assert ids(site.fhir_get("Patient", {"identifier": mrn})) == [complete]
