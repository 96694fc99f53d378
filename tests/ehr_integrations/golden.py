"""The sandbox's population rendered in each vendor flavour, for golden tests of the normalizers."""

from datetime import date
from functools import cache

from ehr_integrations.normalize.mapping import Mapping, build_mapping
from ehr_integrations.sandbox import flavours
from ehr_integrations.sandbox.generate import generate
from ehr_integrations.sandbox.population import Population

FLAVOURS = ("epic", "oracle_health", "generic")
TODAY = date(2025, 11, 24)
TIME_ZONE = "America/New_York"
# The generic flavour keeps the phone in a site-specific extension: the site's one mapping rule.
PHONE_EXTENSION = "http://sandbox.example.org/fhir/StructureDefinition/primary-phone"
SITE_RULES = {"generic": {("patient", "phone"): f"extension.where(url = '{PHONE_EXTENSION}').value"}}


@cache
def population() -> Population:
    return generate(patients=60, seed=7, today=TODAY)


def render(flavour: str, resource_type: str, record: object) -> dict:
    return flavours.render(flavours.get(flavour), resource_type, record, population())


@cache
def site_mapping(flavour: str) -> Mapping:
    """The preset of the flavour's vendor with the site's rules, as an onboarding engineer sets it up."""
    return build_mapping(flavour, SITE_RULES.get(flavour), time_zone=TIME_ZONE)


@cache
def dispenses(flavour: str) -> list[dict]:
    return [render(flavour, "MedicationDispense", d) for d in population().medication_dispenses.values()]
