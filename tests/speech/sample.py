"""The fixed sample the speakability check reads: every `say` and prompt the gateway can produce for
300 sandbox patients in every flavour, at a frozen moment, plus every fixed line; and the same
records once more in the shapes real EHRs send (names in capitals, "PATEL, ANITA MD", "PO TABS").

The records go the gateway's own way from FHIR to speech (flavour rendering, the preset mapping,
normalize, say); only the HTTP between them is left out, so the sample takes seconds.
"""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from calls.contract import STORE_DOWN_SAY
from calls.outcomes import NotVerified, Transfer
from calls.session.access_log import AUDIT_DOWN_SAY
from calls.session.transfers import ESCALATE_SAY, say_transfer
from calls.tools import care_messages, refills, write_steps
from calls.tools.fillers import BY_TOOL, GENERAL
from calls.tools.tool_specs import TOOLS
from calls.verification import prompts
from calls.verification.pending_turns import SLOW_SAY
from calls.verification.turns import EHR_DOWN_SAY, VERIFIED_SAY
from ehr_integrations.normalize import say
from ehr_integrations.normalize.appointments import normalize_appointment
from ehr_integrations.normalize.mapping import build_mapping
from ehr_integrations.normalize.medications import normalize_medication
from ehr_integrations.normalize.messages import normalize_message
from ehr_integrations.normalize.patient import normalize_patient
from ehr_integrations.normalize.references import index
from ehr_integrations.normalize.speakability import Line
from ehr_integrations.sandbox import flavours
from ehr_integrations.sandbox.generate import generate

NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)  # frozen: the same lines on every run
TZ = ZoneInfo("America/New_York")
PATIENTS = 300
SEED = 20
CANCELLED_LOOKBACK = timedelta(days=30)
DEMO_TARGETS = {  # docs/examples/riverside.yaml
    "scheduling": ("Riverside scheduling desk", "Riverside after-hours line", "+15555550101", "+15555550199"),
    "pharmacy": ("Riverside pharmacy", None, "+15555550102", None),
    "clinical": ("Riverside nurse line", None, "+15555550103", None),
    "verification": ("Riverside patient access", None, "+15555550104", None),
    "general": ("Riverside operator", None, "+15555550100", None),
}


def _when(item: object) -> datetime:
    return datetime.fromisoformat(item.datetime)


def _appointment_lines(items: list, preset: object, source: str) -> list[Line]:
    now = NOW.astimezone(TZ)
    dated = [i for i in items if i.datetime and i.status != "entered-in-error"]
    upcoming = sorted((i for i in dated if _when(i) >= now and i.status in preset.expected_statuses), key=_when)
    past = sorted((i for i in dated if _when(i) < now), key=_when, reverse=True)
    cancelled = sorted(
        (i for i in dated if _when(i) >= now - CANCELLED_LOOKBACK and i.status in preset.cancelled_statuses), key=_when
    )
    return [
        Line("tool", say.say_appointments(upcoming[:5], TZ, when="upcoming", now=now), f"{source} appointments"),
        Line("tool", say.say_appointments(past[:5], TZ, when="past", now=now), f"{source} past appointments"),
        Line("tool", say.say_appointments(cancelled[:5], TZ, when="cancelled", now=now), f"{source} cancelled"),
    ]


def _epic_display(name: str | None) -> str | None:
    """ "Dr. Anita Patel" as Epic and Oracle Health displays often give it: "PATEL, ANITA MD"."""
    if not name:
        return name
    words = name.removeprefix("Dr. ").split(", ")[0].split()
    credential = " MD" if name.startswith("Dr. ") else f" {name.split(', ')[1]}" if ", " in name else ""
    return f"{words[-1]}, {' '.join(words[:-1])}{credential}".upper()


def _shouted(items: list, *fields: str) -> list:
    """The same records in the shapes real EHRs send: names in capitals, "Family, Given MD", "PO TABS"."""
    changes = {"provider_name": _epic_display, "sender": _epic_display, "location": str.upper,
               "name": lambda n: n.upper().replace("ORAL TABLET", "PO TABS")}  # fmt: skip
    return [replace(i, **{f: changes[f](getattr(i, f)) for f in fields if getattr(i, f)}) for i in items]


def _flavour_lines(name: str, population: object) -> list[Line]:
    flavour = flavours.get(name)
    mapping = build_mapping(name, time_zone=str(TZ))
    render = lambda kind, record: flavours.render(flavour, kind, record, population)  # noqa: E731
    known = index(
        [render("Practitioner", r) for r in population.practitioners.values()]
        + [render("Location", r) for r in population.locations.values()]
        + [render("Medication", r) for r in population.medications.values()]
    )
    lines = []
    for patient_id, patient in population.patients.items():
        source = f"{name} {patient_id}"
        flat = normalize_patient(render("Patient", patient), mapping)
        lines.append(Line("tool", say.say_patient(flat.public()), f"{source} patient"))
        visits = [render("Appointment", population.appointments[a]) for a in population.appointments_of[patient_id]]
        items = [normalize_appointment(v, mapping, tz=TZ, known=known) for v in visits]
        lines += _appointment_lines(items, mapping.preset, source)
        if name == "generic":
            lines += _appointment_lines(
                _shouted(items, "provider_name", "location"), mapping.preset, f"{source} shouted"
            )
        medications = []
        for request_id in population.requests_of[patient_id]:
            request = population.medication_requests[request_id]
            fills = [render("MedicationDispense", population.medication_dispenses[d]) for d in
                     population.dispenses_of_request[request_id]]  # fmt: skip
            rendered = render("MedicationRequest", request)
            medications.append(
                normalize_medication(rendered, mapping, today=NOW.date(), tz=TZ, dispenses=fills, known=known)
            )
        active = [m for m in medications if m.status == "active"]
        lines.append(Line("tool", say.say_medications(active), f"{source} medications"))
        if name == "generic":
            shouted = say.say_medications(_shouted(active, "name"))
            lines.append(Line("tool", shouted, f"{source} shouted medications"))
        to_patient = [population.communications[c] for c in population.communications_to[f"Patient/{patient_id}"]]
        messages = [normalize_message(render("Communication", m), mapping, tz=TZ, known=known) for m in to_patient]
        messages.sort(key=lambda m: m.sent_at or "", reverse=True)
        lines.append(Line("tool", say.say_messages(messages[:5], TZ, now=NOW), f"{source} messages"))
        if name == "generic":
            shouted = say.say_messages(_shouted(messages[:5], "sender"), TZ, now=NOW)
            lines.append(Line("tool", shouted, f"{source} shouted messages"))
            patient_shouted = replace(flat, given_name=flat.given_name.upper(), family_name=flat.family_name.upper())
            lines.append(Line("tool", say.say_patient(patient_shouted.public()), f"{source} shouted patient"))
    return lines


def _prompt_lines() -> list[Line]:
    lines = []
    turns = (
        ({}, {}, False, "first"),
        ({"x": 1}, {"x": 1}, False, "next"),
        ({"x": 1}, {}, False, "again"),
        ({}, {"x": 1}, True, "after failure"),
    )
    for ask in prompts.ASKED_FOR:
        for given, said, failed, turn in turns:
            answer = prompts.needs_more(missing=[ask], attempts_left=2, given=given, said=said, failed=failed)
            lines += [Line("prompt", answer.say, f"needs_more {ask} {turn}"), Line("prompt", answer.prompt, ask)]
    lines.append(Line("prompt", VERIFIED_SAY, "verified"))
    lines.append(Line("prompt", prompts.first_prompt([]), "all given"))
    return lines


def _transfer_lines() -> list[Line]:
    lines = []
    for purpose, (name, after_name, phone, after_phone) in DEMO_TARGETS.items():
        lines.append(Line("transfer", say_transfer(Transfer(name, phone, purpose), True), f"transfer {purpose} open"))
        closed = Transfer(after_name or name, after_phone or phone, purpose)
        lines.append(Line("transfer", say_transfer(closed, False), f"transfer {purpose} closed"))
    fixed = {"escalate": ESCALATE_SAY, "ehr down": EHR_DOWN_SAY, "ehr slow": SLOW_SAY, "store down": STORE_DOWN_SAY,
             "audit down": AUDIT_DOWN_SAY, "not verified": NotVerified().say}  # fmt: skip
    lines += [Line("transfer", text, source) for source, text in fixed.items()]
    lines += [Line("transfer", spec.unavailable_say, f"{tool} unavailable") for tool, spec in TOOLS.items()]
    return lines


def _write_lines() -> list[Line]:
    """The fixed lines of the write tools (refill requests, care-team messages)."""
    fixed = {"refill lookup failed": refills.LOOKUP_FAILED_SAY, "write in doubt": write_steps.IN_DOUBT_SAY,
             "urgent message": care_messages.URGENT_SAY, "message route failed": care_messages.ROUTE_FAILED_SAY,
             **{f"refill {reason}": text for reason, text in refills.REFUSED_SAYS.items()}}  # fmt: skip
    return [Line("transfer", text, source) for source, text in fixed.items()]


def _filler_lines() -> list[Line]:
    phrases = list(GENERAL) + [p for tool in BY_TOOL.values() for p in tool]
    return [Line("prompt", phrase, "filler") for phrase in phrases]


def sample() -> list[Line]:
    """Every line of the sample, in a fixed order."""
    population = generate(patients=PATIENTS, seed=SEED, today=NOW.date())
    lines = [line for name in sorted(flavours.FLAVOURS) for line in _flavour_lines(name, population)]
    return lines + _prompt_lines() + _transfer_lines() + _write_lines() + _filler_lines()
