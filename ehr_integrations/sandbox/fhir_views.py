"""The FHIR REST endpoints: read, search (GET and POST _search) and paging, behind bearer tokens."""

from aiohttp import web
from aiohttp.typedefs import Handler

from ehr_integrations.sandbox import flavours, match, scopes, search
from ehr_integrations.sandbox.bundles import StoredSearch, entry, fhir_response, outcome_response, searchset
from ehr_integrations.sandbox.oauth_errors import bearer_challenge
from ehr_integrations.sandbox.search_params import PARAMS
from ehr_integrations.sandbox.state import STATE, SandboxState

PUBLIC_PATHS = frozenset({"/fhir/metadata", "/fhir/.well-known/smart-configuration"})


@web.middleware
async def bearer_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every /fhir request except discovery needs a live bearer token (RFC 6750)."""
    if not request.path.startswith("/fhir") or request.path in PUBLIC_PATHS:
        return await handler(request)
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith("bearer "):
        return bearer_challenge(401, "invalid_token", "a bearer token is required")
    issued = request.app[STATE].tokens.lookup(header[7:].strip())
    if issued is None:
        return bearer_challenge(401, "invalid_token", "the token is unknown or has expired")
    request["client_id"] = issued.client_id
    request["scopes"] = list(issued.scopes)
    return await handler(request)


def _forbidden(request: web.Request, resource_type: str, permission: str) -> web.Response | None:
    if scopes.permits(request["scopes"], resource_type, permission):
        return None
    wanted = f"system/{resource_type}.{permission}"
    return bearer_challenge(403, "insufficient_scope", f"the token does not allow {wanted}", scope=wanted)


def _known_type(resource_type: str) -> web.Response | None:
    if resource_type in PARAMS:
        return None
    return outcome_response(404, "not-supported", f"resource type {resource_type!r} is not supported")


async def read(request: web.Request) -> web.Response:
    resource_type, resource_id = request.match_info["type"], request.match_info["id"]
    refusal = _known_type(resource_type) or _forbidden(request, resource_type, "r")
    if refusal:
        return refusal
    state = request.app[STATE]
    record = state.population.table(resource_type).get(resource_id)
    if record is None:
        return outcome_response(404, "not-found", f"{resource_type}/{resource_id} is not known")
    return fhir_response(flavours.render(state.served_flavour, resource_type, record, state.population))


async def search_get(request: web.Request) -> web.Response:
    return await _search(request, list(request.query.items()))


async def search_post(request: web.Request) -> web.Response:
    if request.app[STATE].strict.post_search == "refused":
        return outcome_response(
            405, "not-supported", "POST [type]/_search is not supported; search with GET", headers={"Allow": "GET"}
        )
    form = await request.post()
    return await _search(request, list(request.query.items()) + [(k, str(v)) for k, v in form.items()])


async def _search(request: web.Request, query: list[tuple[str, str]]) -> web.Response:
    resource_type = request.match_info["type"]
    refusal = _known_type(resource_type) or _forbidden(request, resource_type, "s")
    if refusal:
        return refusal
    state = request.app[STATE]
    params = dict(query)
    if "_getpages" in params:
        return _page(request, state, params)
    strict = "handling=strict" in request.headers.get("Prefer", "").replace(" ", "")
    try:
        result = search.run(
            resource_type,
            query,
            population=state.population,
            flavour=state.served_flavour,
            strict=strict,
            options=state.strict,
        )
    except search.SearchRefused as refused:
        return outcome_response(400, refused.code, refused.diagnostics)
    stored = StoredSearch(resource_type, result.ids, result.includes)
    return _bundle(request, state, stored, offset=0, count=result.count, warnings=result.warnings)


def _page(request: web.Request, state: SandboxState, params: dict) -> web.Response:
    stored = state.pages.get(params["_getpages"])
    if stored is None or stored.resource_type != request.match_info["type"]:
        return outcome_response(410, "not-found", "this search page has expired; search again")
    offset = int(params.get("_getpagesoffset", "0") or 0)
    count = min(int(params.get("_count", search.DEFAULT_COUNT) or search.DEFAULT_COUNT), search.MAX_COUNT)
    return _bundle(request, state, stored, offset=offset, count=count, warnings=[])


def _bundle(
    request: web.Request, state: SandboxState, stored: StoredSearch, *, offset: int, count: int, warnings: list[str]
) -> web.Response:
    table = state.population.table(stored.resource_type)
    page_ids = stored.ids[offset : offset + count]
    resources = [
        flavours.render(state.served_flavour, stored.resource_type, table[i], state.population) for i in page_ids
    ]
    entries = [entry(state.fhir_url, resource, "match") for resource in resources]
    entries += [entry(state.fhir_url, r, "include") for r in _included(state, resources, stored.includes)]
    next_url = None
    if offset + count < len(stored.ids) and count > 0:
        token = request.query.get("_getpages") or state.pages.put(stored)
        next_url = (
            f"{state.fhir_url}/{stored.resource_type}?_getpages={token}&_getpagesoffset={offset + count}&_count={count}"
        )
    self_url = f"{state.base_url}{request.path}"
    return fhir_response(
        searchset(total=len(stored.ids), self_url=self_url, next_url=next_url, entries=entries, warnings=warnings)
    )


def _included(state: SandboxState, resources: list[dict], includes: list[str]) -> list[dict]:
    seen: dict[str, dict] = {}
    for resource in resources:
        for path in includes:
            for ref in _references(resource, path):
                if ref not in seen:
                    resource_type, resource_id = ref.split("/", 1)
                    record = state.population.table(resource_type).get(resource_id)
                    if record is not None:
                        seen[ref] = flavours.render(state.served_flavour, resource_type, record, state.population)
    return list(seen.values())


def _references(resource: dict, path: str) -> list[str]:
    """References at a dotted path ("participant.actor", "requester"), optionally of one type ("...:Patient")."""
    path, _, only_type = path.partition(":")
    nodes = [resource]
    for step in path.split("."):
        found = []
        for node in nodes:
            value = node.get(step) if isinstance(node, dict) else None
            found.extend(value if isinstance(value, list) else [value] if value is not None else [])
        nodes = found
    refs = [n["reference"] for n in nodes if isinstance(n, dict) and "/" in n.get("reference", "")]
    return [r for r in refs if not only_type or r.startswith(only_type + "/")]


async def patient_match(request: web.Request) -> web.Response:
    """Patient/$match (POST Parameters): graded candidates, or only the single certain one if asked."""
    refusal = _forbidden(request, "Patient", "s")
    if refusal:
        return refusal
    state = request.app[STATE]
    if state.strict.match == "refused":
        return outcome_response(403, "forbidden", "this client is not authorized for Patient/$match")
    if state.strict.match == "absent":
        return outcome_response(404, "not-supported", "unknown operation Patient/$match")
    try:
        wanted, only_certain, count = match.parse_parameters(await request.json())
    except (ValueError, TypeError, AttributeError) as exc:
        return outcome_response(400, "invalid", str(exc) if isinstance(exc, match.MatchRefused) else "bad Parameters")
    found = match.find(state.population, wanted, only_certain=only_certain, count=count)
    entries = [
        entry(
            state.fhir_url,
            flavours.render(state.served_flavour, "Patient", state.population.patients[m.patient_id], state.population),
            "match",
            score=m.score,
            extension=[{"url": match.MATCH_GRADE, "valueCode": m.grade}],
        )
        for m in found
    ]
    self_url = f"{state.fhir_url}/Patient/$match"
    return fhir_response(searchset(total=len(entries), self_url=self_url, next_url=None, entries=entries, warnings=[]))
