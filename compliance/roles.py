"""The two staff roles as Django groups, with permissions derived from app labels.

Synced by the roles data migration and again after every migrate, so permissions of models
added later join the right role without a hand-edited list.
"""

from django.contrib.auth.models import Group, Permission

ONBOARDING_ENGINEER = "Onboarding engineer"
COMPLIANCE_OFFICER = "Compliance officer"
# Works the gateway's staff queue (calls.StaffRequest): refill requests and messages the EHR did not
# take; sees a queued message's words, and nothing else of the admin.
FRONT_DESK = "Front desk staff"

# (app_label, model or "*", actions)
ROLE_GRANTS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    ONBOARDING_ENGINEER: [
        ("ehr_integrations", "*", ("add", "change", "delete", "view")),
        ("calls", "agentclient", ("add", "change", "delete", "view")),
        ("calls", "apikey", ("add", "change", "delete", "view")),
        ("calls", "webhooksecret", ("add", "change", "delete", "view")),
        ("calls", "callsession", ("view",)),
        ("calls", "*", ("view",)),
        ("compliance", "businessassociate", ("view",)),
    ],
    COMPLIANCE_OFFICER: [
        ("audit", "*", ("view",)),
        ("auditlog", "logentry", ("view",)),
        ("compliance", "*", ("add", "change", "delete", "view")),
        ("ehr_integrations", "*", ("view",)),
        ("calls", "*", ("view",)),
    ],
    FRONT_DESK: [
        ("calls", "staffrequest", ("view", "change")),
    ],
}


def sync_roles(group_model: type[Group], permission_model: type[Permission]) -> None:
    for role, grants in ROLE_GRANTS.items():
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = set()
        for app_label, model, actions in grants:
            perms = permission_model.objects.filter(content_type__app_label=app_label)
            if model != "*":
                perms = perms.filter(content_type__model=model)
            for perm in perms:
                if perm.codename.split("_", 1)[0] in actions:
                    wanted.add(perm.pk)
        group.permissions.set(wanted)
