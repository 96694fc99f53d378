from compliance.roles import COMPLIANCE_OFFICER, ONBOARDING_ENGINEER


def test_compliance_officer_views_the_access_log_and_manages_agreements(compliance_officer):
    for perm in (
        "audit.view_auditrecord",
        "audit.view_purgerun",
        "compliance.add_businessassociateagreement",
        "compliance.change_businessassociateagreement",
        "compliance.view_baareminder",
        "auditlog.view_logentry",
    ):
        assert compliance_officer.has_perm(perm), perm
    assert not compliance_officer.has_perm("audit.change_auditrecord")
    assert not compliance_officer.has_perm("audit.delete_auditrecord")


def test_onboarding_engineer_has_no_access_log_or_agreement_rights(onboarding_engineer):
    assert not onboarding_engineer.has_perm("audit.view_auditrecord")
    assert not onboarding_engineer.has_perm("compliance.change_businessassociateagreement")


def test_role_names_are_stable():
    assert (COMPLIANCE_OFFICER, ONBOARDING_ENGINEER) == ("Compliance officer", "Onboarding engineer")
