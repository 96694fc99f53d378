import pytest

from ehr_integrations.identity import (
    Coding,
    MrnRule,
    mrn_from_identifiers,
    mrn_search_token,
    normalize_phone,
    ssn_last4,
)
from ehr_integrations.presets import preset

V2 = "http://terminology.hl7.org/CodeSystem/v2-0203"


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("608-271-9000", "+16082719000"),
        ("(816) 555-0142", "+18165550142"),
        ("8165550142", "+18165550142"),
        ("+1 816 555 0142", "+18165550142"),
        ("tel:+44 20 7946 0958", "+442079460958"),
        ("555", None),
        ("", None),
        ("not a phone", None),
        (None, None),
        (8165550142, None),
    ],
)
def test_phone_numbers_come_out_in_e164_or_not_at_all(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("123-45-6789", "6789"),
        ("123456789", "6789"),
        ("xxx-xx-6789", "6789"),
        ("***-**-6789", "6789"),
        ("XXXXX6789", "6789"),
        ("xxx-xx-xxxx", None),
        ("6789", None),
        ("12-3456789-0000", None),
        ("ssn 123-45-6789", None),
        (None, None),
        (123456789, None),
    ],
)
def test_ssn_last_four_from_full_or_masked_values_only(raw, expected):
    assert ssn_last4(raw) == expected


def test_epic_mrn_is_found_by_type_text_among_other_identifiers():
    identifiers = [
        {
            "use": "usual",
            "type": {"text": "EPI"},
            "system": "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.0",
            "value": "E1",
        },
        {
            "use": "usual",
            "type": {"text": "MRN"},
            "system": "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14",
            "value": "7",
        },
    ]
    assert mrn_from_identifiers(identifiers, preset("epic").mrn_identifier) == "7"


def test_oracle_health_mrn_is_found_by_code_set_4_code_10_whatever_the_tenant():
    identifiers = [
        {"type": {"coding": [{"system": "https://fhir.cerner.com/other-tenant/codeSet/4", "code": "10"}]}, "value": "8"}
    ]
    assert mrn_from_identifiers(identifiers, preset("oracle_health").mrn_identifier) == "8"


def test_generic_mrn_is_the_v2_0203_mr_identifier_and_a_retired_one_never_counts():
    identifiers = [
        {"use": "old", "type": {"coding": [{"system": V2, "code": "MR"}]}, "value": "old-1"},
        {"type": {"coding": [{"system": V2, "code": "SS"}]}, "value": "123456789"},
        {"type": {"coding": [{"system": V2, "code": "MR"}]}, "value": " 9 "},
    ]
    assert mrn_from_identifiers(identifiers, preset("generic").mrn_identifier) == "9"


@pytest.mark.parametrize("identifiers", [None, "x", [None, 3, {"type": "MRN"}], [{"type": {"text": "MRN"}}]])
def test_malformed_identifiers_give_no_mrn(identifiers):
    assert mrn_from_identifiers(identifiers, MrnRule(type_texts=("MRN",))) is None


def test_mrn_rule_matches_by_system_glob():
    rule = MrnRule(systems=("urn:oid:1.2.3.*",), type_codings=(Coding("x", "y"),))
    assert mrn_from_identifiers([{"system": "urn:oid:1.2.3.14", "value": "5"}], rule) == "5"


def test_mrn_search_token_uses_the_vendor_system_when_it_has_one():
    assert mrn_search_token("5", MrnRule(search_system="urn:oid:1.2")) == "urn:oid:1.2|5"
    assert mrn_search_token("5", MrnRule()) == "5"
