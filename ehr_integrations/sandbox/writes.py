"""Writes: `POST /fhir/Task` and `POST /fhir/Communication`, per flavour, with conditional create.

Which types a flavour accepts is its `WRITABLE` (the vendors' published statements: Epic's R4 API
creates Communication, Oracle Health Task and Communication, generic R4 both); the strict option
`writes` changes that at run time (`none`, `task`, `communication`, `both`), and `conditional_create`
(`ok` or `absent`) whether `If-None-Exist` is advertised and honoured. Written resources are kept
in memory (`WrittenStore`), read and searched by `identifier` like any other, listed on
`GET /_control/writes` and cleared by a reset (written.py). The request log records each write as any request
(method, path, status), never its body.
"""

from aiohttp import web

from ehr_integrations.sandbox import fhir_views, scopes
from ehr_integrations.sandbox.bundles import entry, fhir_response, outcome_response, searchset
from ehr_integrations.sandbox.oauth_errors import bearer_challenge
from ehr_integrations.sandbox.state import STATE, SandboxState
from ehr_integrations.sandbox.written import WRITE_TYPES

CHOICES = {"none": (), "task": ("Task",), "communication": ("Communication",), "both": WRITE_TYPES}


def writable(state: SandboxState) -> tuple[str, ...]:
    """The resource types this sandbox accepts writes of now."""
    option = state.strict.writes
    return state.flavour.WRITABLE if option == "flavour" else CHOICES[option]


def _refused(request: web.Request, resource_type: str, permission: str) -> web.Response | None:
    if scopes.permits(request["scopes"], resource_type, permission):
        return None
    wanted = f"system/{resource_type}.{permission}"
    return bearer_challenge(403, "insufficient_scope", f"the token does not allow {wanted}", scope=wanted)


def _invalid(state: SandboxState, resource: object, resource_type: str) -> str | None:
    """Why the body is not a resource this server would store, or None."""
    if not isinstance(resource, dict) or resource.get("resourceType") != resource_type:
        return f"the body must be a {resource_type}"
    if not any(isinstance(i, dict) and i.get("value") for i in resource.get("identifier") or []):
        return "an identifier is required"
    subject = (resource.get("for") if resource_type == "Task" else resource.get("subject")) or {}
    patient = str(subject.get("reference", "")).removeprefix("Patient/")
    if patient not in state.population.patients:
        return "the subject must be a known Patient"
    if resource_type == "Task":
        if resource.get("intent") != "order":
            return "a Task needs intent order"
        focus = (resource.get("focus") or {}).get("reference")  # a refill's; a message's Task has none
        if (
            focus is not None
            and str(focus).removeprefix("MedicationRequest/") not in state.population.medication_requests
        ):
            return "a Task's focus must be a known MedicationRequest"
    return None


async def create(request: web.Request) -> web.Response:
    resource_type = request.match_info["type"]
    state = request.app[STATE]
    if resource_type not in writable(state):
        return outcome_response(405, "not-supported", f"create is not supported on {resource_type}")
    refusal = _refused(request, resource_type, "c")
    if refusal:
        return refusal
    try:
        resource = await request.json()
    except ValueError:
        return outcome_response(400, "structure", "the body is not JSON")
    problem = _invalid(state, resource, resource_type)
    if problem:
        return outcome_response(422, "processing", problem)
    condition = request.headers.get("If-None-Exist", "")
    if condition and state.strict.conditional_create == "ok":
        name, _, token = condition.partition("=")
        if name != "identifier" or not token:
            return outcome_response(400, "not-supported", "If-None-Exist takes identifier=system|value only")
        existing = state.written.with_identifier(resource_type, token)
        if len(existing) > 1:
            return outcome_response(412, "duplicate", "more than one resource matches If-None-Exist")
        if existing:
            return fhir_response(existing[0], status=200)
    stored = state.written.add(resource)
    location = f"{state.fhir_url}/{resource_type}/{stored['id']}/_history/1"
    return fhir_response(stored, status=201, headers={"Location": location})


async def read(request: web.Request) -> web.Response:
    resource_type, resource_id = request.match_info["type"], request.match_info["id"]
    stored = request.app[STATE].written.get(resource_type, resource_id)
    if stored is None:
        if resource_type == "Task":
            return outcome_response(404, "not-found", f"Task/{resource_id} is not known")
        return await fhir_views.read(request)
    return _refused(request, resource_type, "r") or fhir_response(stored)


async def search_get(request: web.Request) -> web.Response:
    if "identifier" not in request.query and request.match_info["type"] != "Task":
        return await fhir_views.search_get(request)
    return _by_identifier(request, request.query.get("identifier", ""))


async def search_post(request: web.Request) -> web.Response:
    form = await request.post()
    if "identifier" not in form and "identifier" not in request.query and request.match_info["type"] != "Task":
        return await fhir_views.search_post(request)
    return _by_identifier(request, str(form.get("identifier") or request.query.get("identifier", "")))


def _by_identifier(request: web.Request, token: str) -> web.Response:
    resource_type = request.match_info["type"]
    refusal = _refused(request, resource_type, "s")
    if refusal:
        return refusal
    state = request.app[STATE]
    found = state.written.with_identifier(resource_type, token) if token else []
    entries = [entry(state.fhir_url, r, "match") for r in found]
    self_url = f"{state.fhir_url}/{resource_type}"
    return fhir_response(searchset(total=len(found), self_url=self_url, next_url=None, entries=entries, warnings=[]))


async def list_written(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].written.public())


def routes() -> list[web.RouteDef]:
    """Registered before the generic FHIR routes, which they fall back to for everything else."""
    routes = []
    for name in WRITE_TYPES:
        routes += [
            web.post(f"/fhir/{{type:{name}}}", create),
            web.post(f"/fhir/{{type:{name}}}/_search", search_post),
            web.get(f"/fhir/{{type:{name}}}", search_get),
            web.get(f"/fhir/{{type:{name}}}/{{id}}", read),
        ]
    return [*routes, web.get("/_control/writes", list_written)]
