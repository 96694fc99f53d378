"""SMART v1 and v2 scope syntax, and whether a connection's scopes cover what each tool reads."""

from ehr_integrations.auth import scopes

DEFAULT = (
    "system/Patient.read system/Appointment.read system/MedicationRequest.read system/Medication.read "
    "system/MedicationDispense.read system/Communication.read system/Practitioner.read system/Location.read"
).split()


def test_v1_read_means_read_and_search():
    scope = scopes.parse("system/Patient.read")
    assert scope.permissions == frozenset("rs") and scope.version == 1


def test_v2_permissions_are_taken_letter_by_letter():
    scope = scopes.parse("system/Appointment.rs")
    assert scope.permissions == frozenset("rs") and scope.version == 2
    assert scopes.parse("system/Patient.cruds").permissions == frozenset("cruds")


def test_non_resource_scopes_are_not_parsed():
    assert scopes.parse("openid") is None
    assert scopes.parse("system/Patient.bogus") is None


def test_the_default_scopes_cover_every_tool():
    assert scopes.coverage_gaps(DEFAULT) == []


def test_v2_wildcard_covers_every_tool():
    assert scopes.coverage_gaps(["system/*.rs"]) == []


def test_a_missing_resource_type_is_reported_for_the_tool_that_needs_it():
    gaps = scopes.coverage_gaps([s for s in DEFAULT if "Communication" not in s])
    assert [(g.tool, g.resource_type, g.permission) for g in gaps] == [("messages", "Communication", "s")]


def test_read_only_v2_scope_does_not_cover_search():
    gaps = scopes.coverage_gaps(
        ["system/Appointment.r", "system/Practitioner.r", "system/Location.r"], ["appointments"]
    )
    assert [str(g) for g in gaps] == ["appointments: needs search on Appointment, which the scopes do not cover"]


def test_a_query_narrowed_scope_is_flagged_as_restricted():
    narrowed = [s for s in DEFAULT if "Communication" not in s] + ["system/Communication.rs?category=notification"]
    gaps = scopes.coverage_gaps(narrowed)
    assert [(g.resource_type, g.restricted) for g in gaps] == [("Communication", True)]


def test_patient_level_scopes_are_warned_about_for_a_backend_client():
    warnings = scopes.warnings(["patient/Patient.read", *DEFAULT[1:]])
    assert any("not a system-level" in w for w in warnings)
