"""The control API under /_control/ (loopback only): clients, faults, request log, ground truth, tokens.

It is how tests and the demo steer the sandbox while it runs. JSON in, JSON out.
"""

from ipaddress import ip_address

from aiohttp import web
from aiohttp.typedefs import Handler

from ehr_integrations.sandbox import clients, faults
from ehr_integrations.sandbox.state import STATE
from ehr_integrations.sandbox.strict import StrictOptionError, StrictOptions


@web.middleware
async def loopback_only(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/_control") and not ip_address(request.remote or "192.0.2.1").is_loopback:
        return web.json_response({"error": "the control API answers loopback clients only"}, status=403)
    return await handler(request)


async def _body(request: web.Request) -> dict:
    try:
        data = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text='{"error": "body must be JSON"}', content_type="application/json") from None
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text='{"error": "body must be a JSON object"}', content_type="application/json")
    return data


def _bad(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


async def register_client(request: web.Request) -> web.Response:
    try:
        client = clients.build(await _body(request))
    except clients.RegistrationError as exc:
        return _bad(str(exc))
    request.app[STATE].clients.register(client)
    return web.json_response({"client_id": client.client_id}, status=201)


async def clear_clients(request: web.Request) -> web.Response:
    request.app[STATE].clients.clear()
    return web.json_response({"cleared": True})


async def internal_client(request: web.Request) -> web.Response:
    client = request.app[STATE].clients.internal
    return web.json_response({"client_id": client.client_id, "secret": client.secret})


async def add_fault(request: web.Request) -> web.Response:
    try:
        rule = faults.rule_from(await _body(request))
    except (faults.FaultError, TypeError) as exc:
        return _bad(str(exc))
    request.app[STATE].faults.add(rule)
    return web.json_response(rule.public(), status=201)


async def list_faults(request: web.Request) -> web.Response:
    return web.json_response([rule.public() for rule in request.app[STATE].faults.rules])


async def clear_faults(request: web.Request) -> web.Response:
    request.app[STATE].faults.clear()
    return web.json_response({"cleared": True})


async def read_log(request: web.Request) -> web.Response:
    """The request log; `?after=<seq>` and `?client_id=` narrow it (a long run's log is large)."""
    after = request.query.get("after", "0")
    if not (after.isascii() and after.isdigit()):
        return web.json_response({"after": "must be a whole number"}, status=400)
    return web.json_response(request.app[STATE].log.entries(after=int(after), client_id=request.query.get("client_id")))


async def reset_log(request: web.Request) -> web.Response:
    request.app[STATE].log.clear()
    return web.json_response({"cleared": True})


async def reset(request: web.Request) -> web.Response:
    """Faults, request log, registered clients, strict options and written resources back to a fresh start."""
    state = request.app[STATE]
    state.faults.clear()
    state.log.clear()
    state.clients.clear()
    state.strict = StrictOptions()
    state.written.clear()
    state.schedule.reset(state.population)
    return web.json_response({"reset": True})


async def strict(request: web.Request) -> web.Response:
    """Read or set the strict options (a PUT names the options it changes; the others stay)."""
    state = request.app[STATE]
    if request.method == "PUT":
        try:
            state.strict = state.strict.updated(await _body(request))
        except StrictOptionError as exc:
            return web.json_response({"error": str(exc), "field": exc.field}, status=400)
    return web.json_response(state.strict.public(state.flavour.MRN_SYSTEM))


async def patients(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].population.ground_truth())


async def hard_cases(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].population.hard_cases)


async def token_lifetime(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if request.method == "PUT":
        seconds = (await _body(request)).get("seconds")
        if not isinstance(seconds, int) or seconds < 1:
            return _bad("seconds must be a positive integer")
        state.tokens.lifetime = seconds
    return web.json_response({"seconds": state.tokens.lifetime})


async def expire_tokens(request: web.Request) -> web.Response:
    request.app[STATE].tokens.expire_all()
    return web.json_response({"expired": True})


def routes() -> list[web.RouteDef]:
    return [
        web.post("/_control/clients", register_client),
        web.delete("/_control/clients", clear_clients),
        web.get("/_control/internal-client", internal_client),
        web.get("/_control/faults", list_faults),
        web.post("/_control/faults", add_fault),
        web.delete("/_control/faults", clear_faults),
        web.get("/_control/requests", read_log),
        web.delete("/_control/requests", reset_log),
        web.post("/_control/reset", reset),
        web.get("/_control/strict", strict),
        web.put("/_control/strict", strict),
        web.get("/_control/patients", patients),
        web.get("/_control/hard-cases", hard_cases),
        web.get("/_control/token-lifetime", token_lifetime),
        web.put("/_control/token-lifetime", token_lifetime),
        web.post("/_control/tokens/expire", expire_tokens),
    ]
