"""Vendor flavours. Each module has the same names: NAME, MRN_SYSTEM, MINIMUM_SEARCH_SETS,
UNSUPPORTED_SEARCH_PARAMS, WRITABLE, identifier_values() and one render function per resource type."""

from types import ModuleType

from ehr_integrations.sandbox.flavours import epic, generic, oracle_health

FLAVOURS: dict[str, ModuleType] = {module.NAME: module for module in (generic, epic, oracle_health)}

_RENDERERS = {
    "Patient": ("patient", False),
    "Practitioner": ("practitioner", False),
    "Location": ("location", False),
    "Medication": ("medication", False),
    "Appointment": ("appointment", True),
    "MedicationRequest": ("medication_request", True),
    "MedicationDispense": ("medication_dispense", True),
    "Communication": ("communication", True),
}


def get(name: str) -> ModuleType:
    return FLAVOURS[name]


def render(flavour: ModuleType, resource_type: str, record: object, population: object) -> dict:
    """The flavour's FHIR JSON for one record."""
    function_name, needs_population = _RENDERERS[resource_type]
    function = getattr(flavour, function_name)
    return function(record, population) if needs_population else function(record)
