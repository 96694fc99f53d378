"""One definition of each PHI tool: what it fetches, who takes over when it fails, how it is spoken.

The REST endpoints, prefetch and (later) the LLM tool manifests and MCP all read from here.
"""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from ehr_integrations.fhir import records
from ehr_integrations.models import Purpose
from ehr_integrations.normalize import say


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    purpose: str  # transfer target when it fails
    resource_types: tuple[str, ...]
    data_category: str
    prefetch: bool


TOOLS: dict[str, ToolSpec] = {
    "appointments": ToolSpec(
        name="appointments",
        description="The verified caller's upcoming (or past) appointments: date and time, provider, location.",
        purpose=Purpose.SCHEDULING,
        resource_types=("Appointment",),
        data_category="appointments",
        prefetch=True,
    ),
    "medications": ToolSpec(
        name="medications",
        description="The verified caller's active medications with refills remaining and refill eligibility.",
        purpose=Purpose.PHARMACY,
        resource_types=("MedicationRequest",),
        data_category="medications",
        prefetch=True,
    ),
    "messages": ToolSpec(
        name="messages",
        description="The verified caller's most recent messages from their care team: sender, subject, status.",
        purpose=Purpose.GENERAL,
        resource_types=("Communication",),
        data_category="messages",
        prefetch=True,
    ),
    "patient": ToolSpec(
        name="patient",
        description="The verified caller's name and phone, to greet and confirm them.",
        purpose=Purpose.GENERAL,
        resource_types=("Patient",),
        data_category="demographics",
        prefetch=False,
    ),
}


# FHIR R4 MedicationRequest.status codes: the `status` a medications query may ask for.
MEDICATION_STATUSES = ("active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown")
RANGES = ("upcoming", "past")
MAX_MESSAGES = 50


def variant_names() -> tuple[str, ...]:
    """Every name a non-default query's answer is stored under (see FetchArgs.variant)."""
    return ("appointments:past",) + tuple(f"medications:{s}" for s in MEDICATION_STATUSES if s != "active")


@dataclass(frozen=True)
class FetchArgs:
    """Everything a fetch needs, read in the calling thread (no database on the I/O loop)."""

    patient_id: str
    tz: ZoneInfo
    now: datetime
    range: str = "upcoming"
    status: str = "active"
    limit: int = 5

    @property
    def variant(self) -> str:
        """The cache name of this query's answer: the default query is what prefetch stores."""
        return {"upcoming": "", "past": ":past"}[self.range] + ("" if self.status == "active" else f":{self.status}")


async def fetch(tool: str, client, mapping, args: FetchArgs, *, deadline: float) -> list[dict] | dict:
    """Fetch one tool's flat answer from the EHR, as plain dicts."""
    if tool == "appointments":
        items = await records.fetch_appointments(
            client, mapping, args.patient_id, when=args.range, now=args.now, tz=args.tz, deadline=deadline
        )
    elif tool == "medications":
        items = await records.fetch_medications(client, mapping, args.patient_id, status=args.status, deadline=deadline)
    elif tool == "messages":
        # Every query stores the newest MAX_MESSAGES; answers are cut to the limit asked (see trim).
        items = await records.fetch_messages(client, mapping, args.patient_id, limit=MAX_MESSAGES, deadline=deadline)
    else:
        return (await records.fetch_patient(client, mapping, args.patient_id, deadline=deadline)).as_dict()
    return [item.as_dict() for item in items]


def trim(tool: str, data, args: FetchArgs):
    """The answer as asked: messages cut to the `limit` of this query."""
    return data[: args.limit] if tool == "messages" else data


def speak(tool: str, data, args: FetchArgs) -> str:
    """The answer's one speakable sentence, in the health system's time zone."""
    if tool == "appointments":
        return say.say_appointments(data, args.tz, when=args.range, now=args.now)
    if tool == "medications":
        return say.say_medications(data)
    if tool == "messages":
        return say.say_messages(data, args.tz, now=args.now)
    return say.say_patient(data)
