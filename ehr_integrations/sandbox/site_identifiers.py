"""mrn_system=site: a site that files MRNs under a system of its own, with nothing saying "MRN", and
keeps another identifier with the same value under a second system (an account number).

The overlay is a flavour module with the same names as the one it wraps (see flavours/__init__.py),
so searching and rendering need not know the option exists.
"""

from types import ModuleType

from ehr_integrations.sandbox.population import Population
from ehr_integrations.sandbox.records import PatientRecord
from ehr_integrations.sandbox.strict import DECOY_SYSTEM, SITE_MRN_SYSTEM


def overlay(flavour: ModuleType, population: Population) -> ModuleType:
    """The flavour with every MRN under SITE_MRN_SYSTEM, untyped, and the `mrn_decoy` hard case."""
    carrier = population.hard_cases.get("mrn_decoy")
    decoy_value = population.patients[population.hard_cases["complete"]].mrn if carrier else ""

    def identifier_values(patient: PatientRecord) -> list[tuple[str, str]]:
        values = [(_system(system, flavour), value) for system, value in flavour.identifier_values(patient)]
        return values + [(DECOY_SYSTEM, decoy_value)] if patient.id == carrier else values

    def patient(record: PatientRecord) -> dict:
        resource = flavour.patient(record)
        resource["identifier"] = [_site_identifier(i, flavour) for i in resource.get("identifier", [])]
        if record.id == carrier:
            resource["identifier"].append({"use": "secondary", "system": DECOY_SYSTEM, "value": decoy_value})
        return resource

    site = ModuleType(f"{flavour.__name__}+site_mrn", flavour.__doc__)
    site.__dict__.update({name: value for name, value in vars(flavour).items() if not name.startswith("__")})
    site.MRN_SYSTEM = SITE_MRN_SYSTEM
    site.identifier_values = identifier_values
    site.patient = patient
    return site


def _system(system: str, flavour: ModuleType) -> str:
    return SITE_MRN_SYSTEM if system == flavour.MRN_SYSTEM else system


def _site_identifier(identifier: dict, flavour: ModuleType) -> dict:
    if identifier.get("system") != flavour.MRN_SYSTEM:
        return identifier
    untyped = {key: value for key, value in identifier.items() if key != "type"}
    return {**untyped, "system": SITE_MRN_SYSTEM}
