"""What each PHI read tool fetches, how its answer is stored, spoken and cut, and who takes over when it fails.

The service half of a read tool: calls/registry/definitions.py adds its inputs and manifest text.
Adding a read tool is one ToolSpec here (its fetch and its `say`), with no branch on its name elsewhere.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from calls.session.stored_answers import MEDICATION_STATUSES, RANGES
from calls.tools import handles
from ehr_integrations.fhir import records
from ehr_integrations.fhir.client import FhirClient
from ehr_integrations.models import Purpose
from ehr_integrations.normalize import say
from ehr_integrations.normalize.flat import PATIENT_PUBLIC_FIELDS
from ehr_integrations.normalize.mapping import Mapping

__all__ = ["MEDICATION_STATUSES", "RANGES", "TOOLS", "FetchArgs", "ToolSpec", "fetch", "from_patient", "speak", "trim"]

MAX_MESSAGES = 50
Answer = list[dict] | dict


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
        return {"upcoming": "", "past": ":past", "cancelled": ":cancelled"}[self.range] + (
            "" if self.status == "active" else f":{self.status}"
        )


class Fetcher(Protocol):
    def __call__(
        self, client: FhirClient, mapping: Mapping, args: FetchArgs, *, deadline: float
    ) -> Awaitable[Answer]: ...


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    purpose: str  # transfer target when it fails
    resource_types: tuple[str, ...]
    data_category: str
    prefetch: bool
    unavailable_say: str
    speak: Callable[[Answer, FetchArgs], str]
    # None: answered from the verified patient the session store holds (no EHR request).
    fetch: Fetcher | None = None
    trim: Callable[[Answer, FetchArgs], Answer] = field(default=lambda data, args: data)
    # What the agent is given beyond the stored answer (call-scoped handles), given the call id.
    expose: Callable[[Answer, str], Answer] = field(default=lambda data, call_id: data)


async def _appointments(client: FhirClient, mapping: Mapping, args: FetchArgs, *, deadline: float) -> Answer:
    items = await records.fetch_appointments(
        client, mapping, args.patient_id, when=args.range, now=args.now, tz=args.tz, deadline=deadline
    )
    return [item.as_dict() for item in items]


async def _medications(client: FhirClient, mapping: Mapping, args: FetchArgs, *, deadline: float) -> Answer:
    items = await records.fetch_medications(client, mapping, args.patient_id, status=args.status, deadline=deadline)
    return [item.as_dict() for item in items]


async def _messages(client: FhirClient, mapping: Mapping, args: FetchArgs, *, deadline: float) -> Answer:
    # Every query stores the newest MAX_MESSAGES; answers are cut to the limit asked (see trim).
    items = await records.fetch_messages(client, mapping, args.patient_id, limit=MAX_MESSAGES, deadline=deadline)
    return [item.as_dict() for item in items]


TOOLS: dict[str, ToolSpec] = {
    spec.name: spec
    for spec in (
        ToolSpec(
            name="appointments",
            description=(
                "The verified caller's upcoming appointments (or past, or cancelled and missed ones):"
                " date and time, provider, location."
            ),
            purpose=Purpose.SCHEDULING,
            resource_types=("Appointment",),
            data_category="appointments",
            prefetch=True,
            unavailable_say="I'm not able to pull up your appointments right now. I can connect you with scheduling.",
            fetch=_appointments,
            speak=lambda data, args: say.say_appointments(data, args.tz, when=args.range, now=args.now),
            expose=handles.with_appointment_handles,
        ),
        ToolSpec(
            name="medications",
            description="The verified caller's active medications with refills remaining and refill eligibility.",
            purpose=Purpose.PHARMACY,
            resource_types=("MedicationRequest",),
            data_category="medications",
            prefetch=True,
            unavailable_say=(
                "I'm not able to check your medications right now. I can connect you with the pharmacy team."
            ),
            fetch=_medications,
            speak=lambda data, args: say.say_medications(data),
        ),
        ToolSpec(
            name="messages",
            description="The verified caller's most recent messages from their care team: sender, subject, status.",
            purpose=Purpose.GENERAL,
            resource_types=("Communication",),
            data_category="messages",
            prefetch=True,
            unavailable_say=(
                "I'm not able to check your messages right now. I can connect you with someone who can help."
            ),
            fetch=_messages,
            speak=lambda data, args: say.say_messages(data, args.tz, now=args.now),
            trim=lambda data, args: data[: args.limit],
        ),
        ToolSpec(
            name="patient",
            description="The verified caller's name and phone, to greet and confirm them.",
            purpose=Purpose.GENERAL,
            resource_types=("Patient",),
            data_category="demographics",
            prefetch=False,
            unavailable_say=(
                "I'm not able to pull up your record right now. I can connect you with someone who can help."
            ),
            speak=lambda data, args: say.say_patient(data),
        ),
    )
}


def from_patient(patient: dict) -> dict:
    """The patient tool's answer: the minimum needed to greet and confirm, from the verified record."""
    return {name: patient.get(name) for name in PATIENT_PUBLIC_FIELDS}


async def fetch(tool: str, client: FhirClient, mapping: Mapping, args: FetchArgs, *, deadline: float) -> Answer:
    """Fetch one tool's flat answer from the EHR, as plain dicts."""
    fetcher = TOOLS[tool].fetch
    if fetcher is None:
        raise ValueError(f"{tool} is answered from the session store")
    return await fetcher(client, mapping, args, deadline=deadline)


def trim(tool: str, data: Answer, args: FetchArgs) -> Answer:
    """The answer as asked (messages cut to the `limit` of this query)."""
    return TOOLS[tool].trim(data, args)


def speak(tool: str, data: Answer, args: FetchArgs) -> str:
    """The answer's one speakable sentence, in the health system's time zone."""
    return TOOLS[tool].speak(data, args)
