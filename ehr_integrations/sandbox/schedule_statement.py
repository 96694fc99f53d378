"""What the CapabilityStatement says of scheduling (issue 22): Slot and Schedule, and `create` and `patch`
on Appointment (with `conditionalCreate` as the strict option says), on the flavours that serve them
(schedule_views.py). The Epic flavour advertises none of it on R4."""

from ehr_integrations.sandbox.schedule_views import serves
from ehr_integrations.sandbox.state import SandboxState

SLOT_PARAMS = [
    {"name": "schedule", "type": "reference"},
    {"name": "status", "type": "token"},
    {"name": "start", "type": "date"},
    {"name": "service-type", "type": "token"},
]


def advertise(state: SandboxState, resources: list[dict]) -> list[dict]:
    if not serves(state):
        return resources
    by_type = {entry["type"]: entry for entry in resources}
    appointment = by_type["Appointment"]
    appointment["interaction"] = [{"code": "create"}, {"code": "patch"}, *appointment["interaction"]]
    appointment["conditionalCreate"] = state.strict.conditional_create == "ok"
    appointment["searchParam"] = [
        *appointment["searchParam"],
        {"name": "identifier", "type": "token"},
        {"name": "slot", "type": "reference"},
    ]
    read_search = [{"code": "read"}, {"code": "search-type"}]
    return [
        *resources,
        {"type": "Slot", "interaction": read_search, "searchParam": SLOT_PARAMS},
        {"type": "Schedule", "interaction": [{"code": "read"}], "searchParam": []},
    ]
