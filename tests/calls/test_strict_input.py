"""Verify turns take only identifiers a caller could really have: anything else is a 400 naming the
field, on REST and function calls alike, and never reaches the EHR (issue 18)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from calls.registry import run
from calls.registry.definitions import BY_FUNCTION
from calls.registry.inputs import parse
from calls.session.access_log import AuditContext
from calls.session.selectors import call_for_client
from ehr_integrations.models import VerificationPolicy
from ehr_integrations.normalize.names import same_name
from tests.calls.conftest import open_call, verify

pytestmark = pytest.mark.django_db
REFUSED = [
    ("date_of_birth", "9999-12-31", "must be a date in the past"),
    ("date_of_birth", "1899-12-31", "must not be before 1900-01-01"),
    ("date_of_birth", "1990-02-30", "must be a date as YYYY-MM-DD"),
    ("ssn_last4", "1234\n", "must be 4 digits (0-9)"),
    ("ssn_last4", "\uff11\uff12\uff13\uff14", "must be 4 digits (0-9)"),  # full-width digits
    ("ssn_last4", "١٢٣٤", "must be 4 digits (0-9)"),  # Arabic-Indic digits
    ("ssn_last4", " 1234", "must be 4 digits (0-9)"),
    ("mrn", "P1,P2", "is not a medical record number of this health system"),  # a FHIR OR list
    ("mrn", "P1|P2", "is not a medical record number of this health system"),
    ("mrn", "A" * 21, "is not a medical record number of this health system"),
    ("family_name", "Smith2", "must be letters, spaces, hyphens, apostrophes or periods"),
    ("family_name", "Smi*", "must be letters, spaces, hyphens, apostrophes or periods"),
    ("given_name", "-", "must be letters, spaces, hyphens, apostrophes or periods"),
    ("given_name", "Ann\nSmith", "must be letters, spaces, hyphens, apostrophes or periods"),
    ("phone", "12", "must be a phone number"),
]


@pytest.mark.parametrize(("field", "value", "message"), REFUSED)
def test_a_value_no_caller_can_have_is_a_400_naming_the_field(api, sandbox, field, value, message):
    call_id = open_call(api)
    sandbox.reset_log()
    response = verify(api, call_id, **({"date_of_birth": "1961-04-02", "mrn": "1234567"} | {field: value}))
    assert response.status_code == 400, response.content
    assert response.json() == {"status": "error", "errors": {field: message}}
    assert not [e for e in sandbox.requests() if e["path"].startswith("/fhir/Patient")]


def test_a_birth_date_is_in_the_past_where_the_health_system_is(api, site):
    """Kiritimati (UTC+14) is always a day ahead of Honolulu (UTC-10): its today is Honolulu's tomorrow."""
    kiritimati_today = datetime.now(ZoneInfo("Pacific/Kiritimati")).date().isoformat()
    site.time_zone = "Pacific/Honolulu"
    site.save()
    refused = verify(api, open_call(api), date_of_birth=kiritimati_today)
    assert refused.json() == {"status": "error", "errors": {"date_of_birth": "must be a date in the past"}}
    site.time_zone = "Pacific/Kiritimati"
    site.save()
    assert verify(api, open_call(api), date_of_birth=kiritimati_today).json()["status"] == "needs_more"


def test_the_mrn_pattern_is_the_sites(api, site, patient):
    VerificationPolicy.objects.filter(health_system=site).update(mrn_pattern=r"^[0-9]{7}$")
    call_id = open_call(api)
    assert verify(api, call_id, mrn="AB-12").json()["errors"] == {
        "mrn": "is not a medical record number of this health system"
    }
    answer = verify(api, call_id, date_of_birth=patient["birth_date"], mrn=patient["mrn"]).json()
    assert answer["status"] == "verified"


@pytest.mark.parametrize("family", ["O’Brien", "O'Brien", "Núñez-García", "de la Cruz", "St. John", "St.John"])
def test_names_of_letters_spaces_hyphens_apostrophes_and_periods_are_taken(api, family):
    assert verify(api, open_call(api), family_name=family, given_name="Zoë").json()["status"] == "needs_more"


def test_a_name_with_a_period_is_taken_and_matches_the_record_however_spaced():
    """The bench found it: the sandbox's St.John family could not verify by name (a 400 on the name)."""
    values = parse(BY_FUNCTION["verify_caller"].validator(strict=True), {"family_name": "St. John"})
    assert values == {"family_name": "St. John"} and same_name("St. John", "St.John")


def test_a_decomposed_name_is_taken_as_its_nfc_spelling(api, agent):
    values = parse(BY_FUNCTION["verify_caller"].validator(strict=True), {"given_name": "Zoe\u0308"})
    assert values == {"given_name": "Zo\u00eb"}


@pytest.mark.parametrize(
    ("field", "value"), [("date_of_birth", "9999-12-31"), ("mrn", "P1,P2"), ("ssn_last4", "1234\n")]
)
def test_function_calls_refuse_the_same_values_the_same_way(api, agent, field, value):
    call_id = open_call(api)
    rest = verify(api, call_id, **{field: value})
    call = call_for_client(client=agent, call_id=call_id)
    arguments = {field: value}
    answer = run.run_function(
        function="verify_caller", call=call, arguments=arguments, context=AuditContext.of(channel="mcp")
    )
    assert rest.status_code == answer[0] == 400
    assert rest.json() == answer[1]
