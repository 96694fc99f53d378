"""What a verify turn's identifiers must be at this health system, beyond their shape (calls/registry):
a birth date in the past where the site is, and an MRN of the site's pattern (VerificationPolicy.mrn_pattern).

Refused before anything is counted or searched, as a 400 naming the field: a value no patient can
have must not reach the EHR, where a malformed one may fail the search for everyone (issue 18).
"""

import re
from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo

from calls.outcomes import InvalidInput
from ehr_integrations.models import HealthSystem


def check(*, health_system: HealthSystem, identifiers: Mapping[str, object]) -> None:
    """Raise InvalidInput naming each identifier this site cannot have."""
    errors: dict[str, str] = {}
    born = identifiers.get("date_of_birth")
    if isinstance(born, date) and born > _today(health_system):
        errors["date_of_birth"] = "must be a date in the past"
    mrn = identifiers.get("mrn")
    if isinstance(mrn, str) and not re.fullmatch(health_system.verification_policy.mrn_pattern, mrn):
        errors["mrn"] = "is not a medical record number of this health system"
    if errors:
        raise InvalidInput(errors=errors)


def _today(health_system: HealthSystem) -> date:
    return datetime.now(ZoneInfo(health_system.time_zone)).date()
