"""Scheduling on the sandbox (issue 22): Slot and Schedule search and read, `POST /fhir/Appointment` into a
free slot, `PATCH /fhir/Appointment/{id}` (JSON Patch of `status` to cancelled), and Appointment searches
by `identifier` or `slot`. Oracle Health and generic R4 serve these; the Epic flavour does not (its
scheduling is `$find` / `$book` on STU3). Oracle Health refuses a booking of a busy slot (409); a
generic R4 server, like many, stores it, and the client finds the double booking by reading back.

Control: `GET /_control/schedule` (busy slots, bookings, schedules), `POST /_control/schedule/take`
`{"slot": id}` (someone else books that slot meanwhile), `POST /_control/schedule/quirk` `{"misbook": true}`
(the next booking is stored as proposed: a read-back that disagrees).
"""

from datetime import datetime

from aiohttp import web

from ehr_integrations.sandbox import fhir_views, flavours, scopes
from ehr_integrations.sandbox.bundles import entry, fhir_response, outcome_response, searchset
from ehr_integrations.sandbox.flavours import r4
from ehr_integrations.sandbox.oauth_errors import bearer_challenge
from ehr_integrations.sandbox.schedule import SERVICE_TYPE_SYSTEM, VISIT_TYPES, Schedule, Slot
from ehr_integrations.sandbox.state import STATE, SandboxState

SERVED_BY = ("generic", "oracle_health")  # flavours with R4 Slot search, Appointment create and patch
REFUSES_DOUBLE_BOOKING = ("oracle_health",)
MAX_SLOTS = 100


def serves(state: SandboxState) -> bool:
    return state.flavour.NAME in SERVED_BY


def _refused(request: web.Request, resource_type: str, permission: str) -> web.Response | None:
    if not serves(request.app[STATE]):
        return outcome_response(404, "not-supported", f"{resource_type} is not supported on this server")
    if scopes.permits(request["scopes"], resource_type, permission):
        return None
    wanted = f"system/{resource_type}.{permission}"
    return bearer_challenge(403, "insufficient_scope", f"the token does not allow {wanted}", scope=wanted)


def render_slot(slot: Slot) -> dict:
    return {
        "resourceType": "Slot",
        "id": slot.id,
        "schedule": {"reference": f"Schedule/{slot.schedule_id}"},
        "status": slot.status,
        "start": r4.instant(slot.start),
        "end": r4.instant(slot.end),
        "serviceType": [
            {"coding": [{"system": SERVICE_TYPE_SYSTEM, "code": code}], "text": VISIT_TYPES[code]}
            for code in slot.service_types
        ],
    }


def render_schedule(state: SandboxState, schedule: Schedule) -> dict:
    population = state.population
    clinician = population.practitioners[schedule.practitioner_id]
    place = population.locations[schedule.location_id]
    return {
        "resourceType": "Schedule",
        "id": schedule.id,
        "active": True,
        "actor": [
            r4.reference("Practitioner", clinician.id, r4.practitioner_display(clinician)),
            r4.reference("Location", place.id, place.name),
        ],
    }


def _instant(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _slot_matches(slot: Slot, name: str, value: str) -> bool | None:
    """Whether one search criterion holds; None for a value the server cannot read."""
    if name == "schedule":
        return slot.schedule_id == value.removeprefix("Schedule/")
    if name == "status":
        return slot.status in value.split(",")
    if name == "service-type":
        return value.partition("|")[2 if "|" in value else 0] in slot.service_types
    prefix, when = (value[:2], value[2:]) if value[:2] in ("ge", "gt", "le", "lt") else ("eq", value)
    instant = _instant(when)
    if instant is None:
        return None
    return {
        "ge": slot.start >= instant,
        "gt": slot.start > instant,
        "le": slot.start <= instant,
        "lt": slot.start < instant,
        "eq": slot.start == instant,
    }[prefix]


SLOT_PARAMS = frozenset({"schedule", "status", "service-type", "start"})


async def _search_slots(request: web.Request, query: list[tuple[str, str]]) -> web.Response:
    refusal = _refused(request, "Slot", "s")
    if refusal:
        return refusal
    state = request.app[STATE]
    criteria = [(k, v) for k, v in query if k in SLOT_PARAMS]
    if unknown := sorted({k for k, _ in query if k not in SLOT_PARAMS | {"_count"}}):
        return outcome_response(400, "not-supported", f"unknown search parameter(s) {unknown}")
    found = []
    for slot in sorted(state.schedule.slots.values(), key=lambda s: (s.start, s.id)):
        verdicts = [_slot_matches(slot, k, v) for k, v in criteria]
        if None in verdicts:
            return outcome_response(400, "value", "a start value must be an instant with a time zone")
        if all(verdicts):
            found.append(slot)
    count = int(dict(query).get("_count", "50") or 50)
    shown = found[: min(count, MAX_SLOTS)]
    entries = [entry(state.fhir_url, render_slot(s), "match") for s in shown]
    bundle = searchset(total=len(found), self_url=f"{state.fhir_url}/Slot", next_url=None, entries=entries, warnings=[])
    return fhir_response(bundle)


async def slots_get(request: web.Request) -> web.Response:
    return await _search_slots(request, list(request.query.items()))


async def slots_post(request: web.Request) -> web.Response:
    form = await request.post()
    return await _search_slots(request, list(request.query.items()) + [(k, str(v)) for k, v in form.items()])


async def slot_read(request: web.Request) -> web.Response:
    refusal = _refused(request, "Slot", "r")
    if refusal:
        return refusal
    slot = request.app[STATE].schedule.slots.get(request.match_info["id"])
    if slot is None:
        return outcome_response(404, "not-found", "that Slot is not known")
    return fhir_response(render_slot(slot))


async def schedule_read(request: web.Request) -> web.Response:
    refusal = _refused(request, "Schedule", "r")
    if refusal:
        return refusal
    state = request.app[STATE]
    schedule = state.schedule.schedules.get(request.match_info["id"])
    if schedule is None:
        return outcome_response(404, "not-found", "that Schedule is not known")
    return fhir_response(render_schedule(state, schedule))


def render_appointment(state: SandboxState, appointment_id: str) -> dict:
    record = state.population.appointments[appointment_id]
    resource = flavours.render(state.served_flavour, "Appointment", record, state.population)
    extra = state.schedule.booked.get(appointment_id)
    if extra is not None:
        resource["identifier"] = extra["identifier"]
        resource["slot"] = [{"reference": f"Slot/{extra['slot']}"}]
        resource["meta"] = {"versionId": "2" if record.status == "cancelled" else "1", "lastUpdated": extra["created"]}
    return resource


def _booking_problem(state: SandboxState, resource: object) -> str | None:
    if not isinstance(resource, dict) or resource.get("resourceType") != "Appointment":
        return "the body must be an Appointment"
    if resource.get("status") != "booked":
        return "an Appointment is created with status booked"
    if not any(isinstance(i, dict) and i.get("value") for i in resource.get("identifier") or []):
        return "an identifier is required"
    slots = [str((s or {}).get("reference", "")).removeprefix("Slot/") for s in resource.get("slot") or []]
    if len(slots) != 1 or slots[0] not in state.schedule.slots:
        return "exactly one known Slot is required"
    if _patient_of(resource) not in state.population.patients:
        return "a participant must be a known Patient"
    return None


def _patient_of(resource: dict) -> str:
    for participant in resource.get("participant") or []:
        reference = str(((participant or {}).get("actor") or {}).get("reference", ""))
        if reference.startswith("Patient/"):
            return reference.removeprefix("Patient/")
    return ""


async def appointment_create(request: web.Request) -> web.Response:
    refusal = _refused(request, "Appointment", "c")
    if refusal:
        return refusal
    state = request.app[STATE]
    try:
        resource = await request.json()
    except ValueError:
        return outcome_response(400, "structure", "the body is not JSON")
    problem = _booking_problem(state, resource)
    if problem:
        return outcome_response(422, "processing", problem)
    condition = request.headers.get("If-None-Exist", "")
    if condition and state.strict.conditional_create == "ok":
        existing = state.schedule.with_identifier(condition.partition("=")[2])
        if existing:
            return fhir_response(render_appointment(state, existing[0]), status=200)
    slot = state.schedule.slots[resource["slot"][0]["reference"].removeprefix("Slot/")]
    if slot.status != "free" and state.flavour.NAME in REFUSES_DOUBLE_BOOKING:
        return outcome_response(409, "conflict", "that Slot is no longer free")
    label = VISIT_TYPES.get(slot.service_types[0], "Office visit")
    wanted = [c.get("code") for t in resource.get("serviceType") or [] for c in (t or {}).get("coding") or []]
    label = next((VISIT_TYPES[c] for c in wanted if c in VISIT_TYPES), label)
    appointment_id = state.schedule.book(
        state.population, slot, patient_id=_patient_of(resource), identifier=resource["identifier"], label=label
    )
    location = f"{state.fhir_url}/Appointment/{appointment_id}/_history/1"
    return fhir_response(render_appointment(state, appointment_id), status=201, headers={"Location": location})


async def appointment_read(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if request.match_info["id"] not in state.schedule.booked:
        return await fhir_views.read(request)
    return _refused(request, "Appointment", "r") or fhir_response(render_appointment(state, request.match_info["id"]))


async def appointment_patch(request: web.Request) -> web.Response:
    refusal = _refused(request, "Appointment", "u")
    if refusal:
        return refusal
    state = request.app[STATE]
    appointment_id = request.match_info["id"]
    if appointment_id not in state.population.appointments:
        return outcome_response(404, "not-found", "that Appointment is not known")
    try:
        patch = await request.json()
    except ValueError:
        return outcome_response(400, "structure", "the body is not JSON Patch")
    if patch != [{"op": "replace", "path": "/status", "value": "cancelled"}]:
        return outcome_response(422, "not-supported", "only a replace of /status with cancelled is supported")
    if state.population.appointments[appointment_id].status not in ("booked", "cancelled"):
        return outcome_response(422, "business-rule", "only a booked Appointment can be cancelled")
    state.schedule.cancel(state.population, appointment_id)
    return fhir_response(render_appointment(state, appointment_id))


def _by_params(request: web.Request, query: list[tuple[str, str]]) -> web.Response:
    refusal = _refused(request, "Appointment", "s")
    if refusal:
        return refusal
    state = request.app[STATE]
    params = dict(query)
    found = list(state.schedule.booked)
    if "identifier" in params:
        found = [a for a in found if a in state.schedule.with_identifier(params["identifier"])]
    if "slot" in params:
        slot_id = params["slot"].removeprefix("Slot/")
        found = [a for a in found if state.schedule.booked[a]["slot"] == slot_id]
    entries = [entry(state.fhir_url, render_appointment(state, a), "match") for a in found]
    self_url = f"{state.fhir_url}/Appointment"
    return fhir_response(searchset(total=len(found), self_url=self_url, next_url=None, entries=entries, warnings=[]))


async def appointments_get(request: web.Request) -> web.Response:
    if not {"identifier", "slot"} & set(request.query):
        return await fhir_views.search_get(request)
    return _by_params(request, list(request.query.items()))


async def appointments_post(request: web.Request) -> web.Response:
    form = await request.post()
    query = list(request.query.items()) + [(k, str(v)) for k, v in form.items()]
    if not {"identifier", "slot"} & {k for k, _ in query}:
        return await fhir_views.search_post(request)
    return _by_params(request, query)


async def control_schedule(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].schedule.public())


async def control_take(request: web.Request) -> web.Response:
    body = await request.json()
    slot = request.app[STATE].schedule.slots.get(str(body.get("slot", "")))
    if slot is None:
        return web.json_response({"error": "unknown slot"}, status=400)
    slot.status = "busy"
    return web.json_response({"slot": slot.id, "status": slot.status})


async def control_quirk(request: web.Request) -> web.Response:
    """`{"misbook": true}`: the next booking is stored as proposed (a read-back that disagrees)."""
    body = await request.json()
    request.app[STATE].schedule.misbook_next = bool(body.get("misbook"))
    return web.json_response({"misbook": request.app[STATE].schedule.misbook_next})


def routes() -> list[web.RouteDef]:
    """Registered before the generic FHIR routes, which they fall back to for everything else."""
    return [
        web.get("/fhir/Slot", slots_get),
        web.post("/fhir/Slot/_search", slots_post),
        web.get("/fhir/Slot/{id}", slot_read),
        web.get("/fhir/Schedule/{id}", schedule_read),
        web.post("/fhir/Appointment", appointment_create),
        web.get("/fhir/{type:Appointment}", appointments_get),
        web.post("/fhir/{type:Appointment}/_search", appointments_post),
        web.get("/fhir/{type:Appointment}/{id}", appointment_read),
        web.patch("/fhir/Appointment/{id}", appointment_patch),
        web.get("/_control/schedule", control_schedule),
        web.post("/_control/schedule/take", control_take),
        web.post("/_control/schedule/quirk", control_quirk),
    ]
