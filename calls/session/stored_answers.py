"""Which tool answers a call's session store may hold: each read tool's default query and its variants.

The store purges and renews exactly these names, so a read tool whose answers are stored is listed
here; the tool definitions (calls/tools/tool_specs.py) take their query vocabularies from here.
"""

# FHIR R4 MedicationRequest.status codes: the `status` a medications query may ask for.
MEDICATION_STATUSES = ("active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown")
RANGES = ("upcoming", "past", "cancelled")
STORED_TOOLS = ("appointments", "medications", "messages")


def variant_names() -> tuple[str, ...]:
    """Every name a non-default query's answer is stored under (see FetchArgs.variant)."""
    return ("appointments:past", "appointments:cancelled") + tuple(
        f"medications:{s}" for s in MEDICATION_STATUSES if s != "active"
    )
