"""Marks requests of the internal test-harness client (tests' `fhir_get`): not logged, never faulted.

The harness proves itself with the internal client's secret in `X-Sandbox-Harness`, so the mark
cannot be put on by an integration under test.
"""

import secrets

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

HEADER = "X-Sandbox-Harness"


def harness_middleware(secret: str) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.headers.get(HEADER, "")
        request["harness"] = bool(given) and secrets.compare_digest(given.encode(), secret.encode())
        return await handler(request)

    return middleware
