"""What the sandbox was asked and how it answered, for tests to count calls and check faults.

An entry holds the method, the path, the NAMES of the query parameters and of the form-body
parameters (never their values, which can be PHI), per parameter whether its value carried a FHIR
search escape, the status, the duration, the client id and the fault injected, if any. No bodies.
An entry is written when the request arrives (status None while it is still open, e.g. hanging) and
completed when it ends; a request the client abandoned is recorded with status 499.
Requests of the internal test harness (see harness.py) and of the control API are not logged.
"""

import re
import time
from collections import deque
from collections.abc import Iterable
from datetime import UTC, datetime
from itertools import count

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

CLIENT_CLOSED = 499
MAX_ENTRIES = 100_000
FORM = "application/x-www-form-urlencoded"
# FHIR R4 search, "Escaping": a backslash makes the next `,` `|` `$` or `\` literal.
FHIR_ESCAPE = re.compile(r"\\[,|$\\]")


class RequestLog:
    def __init__(self) -> None:
        self._entries: deque[dict] = deque(maxlen=MAX_ENTRIES)
        self._ids = count(1)

    def open(self, request: web.Request) -> dict:
        entry = {
            "seq": next(self._ids),
            "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "method": request.method,
            "path": request.path,
            "params": sorted(set(request.query.keys())),
            "form_params": [],
            "escaped": escaped_flags(request.query.items()),
            "status": None,
            "duration_ms": None,
            "client_id": None,
            "fault": None,
        }
        self._entries.append(entry)
        return entry

    async def add_form(self, entry: dict, request: web.Request) -> None:
        """Record the form-body parameter names of a form POST (aiohttp caches the parsed form for the handler)."""
        if request.method != "POST" or request.content_type != FORM:
            return
        form = await request.post()
        entry["form_params"] = sorted(set(form.keys()))
        entry["escaped"] = escaped_flags([*request.query.items(), *form.items()])

    def entries(self, *, after: int = 0, client_id: str | None = None) -> list[dict]:
        """Entries with a seq above `after` (of one client, if given), oldest first."""
        found = []
        for entry in reversed(self._entries):
            if entry["seq"] <= after:
                break
            if client_id is None or entry["client_id"] == client_id:
                found.append(dict(entry))
        return found[::-1]

    def clear(self) -> None:
        self._entries.clear()


def escaped_flags(pairs: Iterable[tuple[str, object]]) -> dict[str, bool]:
    """Per parameter name, whether any of its values holds a FHIR search escape (the values are not kept)."""
    flags: dict[str, bool] = {}
    for name, value in pairs:
        flags[name] = flags.get(name, False) or bool(FHIR_ESCAPE.search(str(value)))
    return flags


def logging_middleware(log_key: web.AppKey[RequestLog]) -> Middleware:
    """Runs outside the fault middleware: it sees every status, including injected faults and hangs."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_control") or request.get("harness"):
            return await handler(request)
        log: RequestLog = request.app[log_key]
        entry = log.open(request)
        started = time.perf_counter()
        status = CLIENT_CLOSED
        try:
            await log.add_form(entry, request)
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        except Exception:
            status = 500
            raise
        finally:
            entry["status"] = status
            entry["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
            entry["client_id"] = request.get("client_id")
            entry["fault"] = request.get("fault")

    return middleware
