"""Who a patient is, for the patient access report: the MRN a compliance officer types, resolved
through the health system's EHR, and the header (name, birth date) shown above the report.

The log keeps EHR patient ids only (never a name or an MRN), so the answer must come from the EHR.
The lookup is implemented where the EHR client lives (settings.AUDIT_PATIENT_DIRECTORY, a
module: ehr_integrations/setup/patient_directory.py) since audit imports nothing from the apps above
it; every lookup writes its own audit record before anything is shown.
"""

import importlib
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings


@dataclass(frozen=True)
class PatientHeader:
    reference: str  # the EHR's Patient id, as the log keeps it
    name: str
    birth_date: str
    mrn: str


class DirectoryUnavailable(Exception):
    """The EHR could not answer (its reason is a short code such as `timeout` or `not_permitted`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Directory(Protocol):
    def find_by_mrn(
        self, *, health_system: str, mrn: str, reviewer: str, source_address: str | None
    ) -> PatientHeader | None: ...

    def header_for(
        self, *, health_system: str, patient_reference: str, reviewer: str, source_address: str | None
    ) -> PatientHeader | None: ...


def directory() -> Directory:
    """The module named by settings.AUDIT_PATIENT_DIRECTORY (it has both functions)."""
    return importlib.import_module(settings.AUDIT_PATIENT_DIRECTORY)
