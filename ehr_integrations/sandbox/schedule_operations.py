"""Epic's scheduling on the sandbox (issue 22): the Argonaut operations on its STU3 endpoint,
`POST /api/FHIR/STU3/Appointment/$find`, `$hold` and `$book`, and `GET .../STU3/Appointment/{id}` to
read a booking back; `GET .../STU3/metadata` advertises them. Only the Epic flavour serves them.

`$find` answers the free slots as proposed Appointments (id `proposed-<slot>`); `$hold` keeps one
for its patient for HOLD_S; `$book` books a held or free one (409 when another patient holds or
booked it; the same patient booking it again gets the first booking back).
"""

import time
from datetime import datetime

from aiohttp import web

from ehr_integrations.sandbox import flavours, scopes
from ehr_integrations.sandbox.bundles import entry, fhir_response, outcome_response, searchset
from ehr_integrations.sandbox.flavours import r4
from ehr_integrations.sandbox.oauth_errors import bearer_challenge
from ehr_integrations.sandbox.schedule import SERVICE_TYPE_SYSTEM, VISIT_TYPES, Slot
from ehr_integrations.sandbox.state import STATE, SandboxState

STU3 = "/api/FHIR/STU3"
HOLD_S = 5 * 60
OPERATIONS = ("find", "hold", "book")


def _denied(request: web.Request, permission: str) -> web.Response | None:
    state = request.app[STATE]
    if state.flavour.NAME != "epic":
        return outcome_response(404, "not-supported", "this server has no STU3 endpoint")
    header = request.headers.get("Authorization", "")
    issued = state.tokens.lookup(header[7:].strip()) if header.lower().startswith("bearer ") else None
    if issued is None:
        return bearer_challenge(401, "invalid_token", "a live bearer token is required")
    if not scopes.permits(list(issued.scopes), "Appointment", permission):
        wanted = f"system/Appointment.{permission}"
        return bearer_challenge(403, "insufficient_scope", f"the token does not allow {wanted}", scope=wanted)
    return None


def _parameters(body: object) -> dict[str, object]:
    params = body.get("parameter") if isinstance(body, dict) else None
    found: dict[str, object] = {}
    for param in params if isinstance(params, list) else []:
        if isinstance(param, dict) and isinstance(param.get("name"), str):
            value = next((v for k, v in param.items() if k.startswith("value") or k == "resource"), None)
            found[param["name"]] = value
    return found


def _proposed(state: SandboxState, slot: Slot, patient_id: str) -> dict:
    schedule = state.schedule.schedules[slot.schedule_id]
    clinician = state.population.practitioners[schedule.practitioner_id]
    place = state.population.locations[schedule.location_id]
    return {
        "resourceType": "Appointment",
        "id": f"proposed-{slot.id}",
        "status": "proposed",
        "serviceType": [{"coding": [{"system": SERVICE_TYPE_SYSTEM, "code": c}]} for c in slot.service_types],
        "start": r4.instant(slot.start),
        "end": r4.instant(slot.end),
        "participant": [
            {"actor": {"reference": f"Patient/{patient_id}"}, "status": "needs-action"},
            {
                "actor": r4.reference("Practitioner", clinician.id, r4.practitioner_display(clinician)),
                "status": "accepted",
            },
            {"actor": r4.reference("Location", place.id, place.name), "status": "accepted"},
        ],
    }


def _instant(value: object) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _holder(state: SandboxState, slot: Slot) -> str | None:
    held = state.schedule.holds.get(slot.id)
    return held[0] if held and held[1] > time.monotonic() else None


async def find(request: web.Request) -> web.Response:
    refusal = _denied(request, "r")
    if refusal:
        return refusal
    state = request.app[STATE]
    params = _parameters(await request.json())
    patient_id = str((params.get("patient") or {}).get("reference", "")).removeprefix("Patient/")
    start, end = _instant(params.get("startTime")), _instant(params.get("endTime"))
    if patient_id not in state.population.patients or start is None or end is None:
        return outcome_response(400, "required", "$find needs a known patient, startTime and endTime")
    visit_type = str(params.get("visit-type") or "")
    found = [
        s
        for s in sorted(state.schedule.slots.values(), key=lambda s: (s.start, s.id))
        if s.status == "free" and start <= s.start < end and (not visit_type or visit_type in s.service_types)
        and _holder(state, s) in (None, patient_id)
    ][:20]  # fmt: skip
    entries = [entry(state.base_url + STU3, _proposed(state, s, patient_id), "match") for s in found]
    bundle = searchset(total=len(found), self_url=f"{state.base_url}{STU3}/Appointment", next_url=None,
                       entries=entries, warnings=[])  # fmt: skip
    return fhir_response(bundle)


async def _target(request: web.Request, operation: str) -> tuple[Slot, str] | web.Response:
    """The slot behind `$hold` / `$book`'s proposed appointment and the patient, or the refusal."""
    refusal = _denied(request, "c")
    if refusal:
        return refusal
    state = request.app[STATE]
    params = _parameters(await request.json())
    reference = str((params.get("appointment") or {}).get("reference", "")).removeprefix("Appointment/")
    patient_id = str((params.get("patient") or {}).get("reference", "")).removeprefix("Patient/")
    slot = state.schedule.slots.get(reference.removeprefix("proposed-"))
    if slot is None or patient_id not in state.population.patients:
        return outcome_response(400, "required", f"${operation} needs a proposed appointment and a known patient")
    return slot, patient_id


def _taken(state: SandboxState, slot: Slot, patient_id: str) -> web.Response | None:
    if slot.status != "free" or _holder(state, slot) not in (None, patient_id):
        return outcome_response(409, "conflict", "that time is no longer available")
    return None


async def hold(request: web.Request) -> web.Response:
    target = await _target(request, "hold")
    if isinstance(target, web.Response):
        return target
    (slot, patient_id), state = target, request.app[STATE]
    if refused := _taken(state, slot, patient_id):
        return refused
    state.schedule.holds[slot.id] = (patient_id, time.monotonic() + HOLD_S)
    return fhir_response(_proposed(state, slot, patient_id) | {"status": "pending"})


async def book(request: web.Request) -> web.Response:
    target = await _target(request, "book")
    if isinstance(target, web.Response):
        return target
    (slot, patient_id), state = target, request.app[STATE]
    mine = [a for a in state.schedule.holders(slot.id) if state.population.appointments[a].patient_id == patient_id]
    if mine:  # the same patient booking it again: the first booking
        return fhir_response(render(state, mine[0]))
    if refused := _taken(state, slot, patient_id):
        return refused
    label = VISIT_TYPES[slot.service_types[0]]
    identifier = [{"system": "urn:oid:1.2.840.114350.1.13.0.1.7.3.698084.8", "value": slot.id}]
    appointment_id = state.schedule.book(
        state.population, slot, patient_id=patient_id, identifier=identifier, label=label
    )
    state.schedule.holds.pop(slot.id, None)
    return fhir_response(render(state, appointment_id))


def render(state: SandboxState, appointment_id: str) -> dict:
    record = state.population.appointments[appointment_id]
    resource = flavours.render(state.served_flavour, "Appointment", record, state.population)
    return resource | {"slot": [{"reference": f"Slot/{state.schedule.booked[appointment_id]['slot']}"}]}


async def read(request: web.Request) -> web.Response:
    refusal = _denied(request, "r")
    if refusal:
        return refusal
    state = request.app[STATE]
    if request.match_info["id"] not in state.schedule.booked:
        return outcome_response(404, "not-found", "that Appointment is not known")
    return fhir_response(render(state, request.match_info["id"]))


async def metadata(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if state.flavour.NAME != "epic":
        return outcome_response(404, "not-supported", "this server has no STU3 endpoint")
    operations = [{"name": name, "definition": {"reference": f"OperationDefinition/appointment-{name}"}}
                  for name in OPERATIONS]  # fmt: skip
    resource = {"type": "Appointment", "interaction": [{"code": "read"}], "operation": operations}
    return fhir_response({
        "resourceType": "CapabilityStatement", "status": "active", "kind": "instance", "fhirVersion": "3.0.2",
        "format": ["json"], "rest": [{"mode": "server", "resource": [resource]}],
    })  # fmt: skip


def routes() -> list[web.RouteDef]:
    return [
        web.get(f"{STU3}/metadata", metadata),
        web.post(f"{STU3}/Appointment/$find", find),
        web.post(f"{STU3}/Appointment/$hold", hold),
        web.post(f"{STU3}/Appointment/$book", book),
        web.get(f"{STU3}/Appointment/{{id}}", read),
    ]
