from ehr_integrations.identity import mrn_from_identifiers, normalize_phone, ssn_last4
from ehr_integrations.normalize.flat import FlatPatient
from ehr_integrations.normalize.mapping import Mapping
from ehr_integrations.normalize.values import code, full_date, text


def normalize_patient(resource: object, mapping: Mapping) -> FlatPatient:
    """A FHIR Patient as a FlatPatient (identifiers included, for verification only)."""
    fhir = resource if isinstance(resource, dict) else {}

    def values(field: str) -> list:
        return mapping.values("patient", field, fhir)

    if mapping.expression("patient", "mrn"):
        mrn = code(values("mrn"))
    else:
        mrn = mrn_from_identifiers(fhir.get("identifier"), mapping.preset.mrn_identifier)
    return FlatPatient(
        id=code(values("id")),
        given_name=text(values("given_name")),
        family_name=text(values("family_name")),
        preferred_name=text(values("preferred_name")),
        phone=next(filter(None, (normalize_phone(v) for v in values("phone"))), None),
        birth_date=full_date(values("birth_date")),
        mrn=mrn,
        ssn_last4=next(filter(None, (ssn_last4(v) for v in values("ssn_last4"))), None),
    )
