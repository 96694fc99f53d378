"""Creating one resource exactly once, and reading it back (issue 21, Decisions).

Where the CapabilityStatement says `conditionalCreate`, the POST carries `If-None-Exist` on the
gateway's business identifier, so a repeat finds the first; elsewhere the identifier is searched
before the POST. After a timeout, a 5xx or a 409/412 the write may or may not have landed: it is
searched for again, and found means written. Whatever is written is read back before anyone says
so; anything still unknown raises WriteInDoubt (the caller gets a staff follow-up, never a "done").
"""

from dataclasses import dataclass

from ehr_integrations.errors import EHRError, EHRRequestRejected, EHRUnavailable
from ehr_integrations.fhir.client import FhirClient, deadline_in
from ehr_integrations.fhir.write_resources import WriteRequest, condition

DOUBTFUL_STATUSES = (409, 412)  # a conflict: another request may hold (or have made) the same write


class WriteInDoubt(EHRError):
    """The EHR may or may not hold the write: nobody may say it was sent."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Written:
    resource_type: str
    id: str
    resource: dict  # as read back from the EHR
    created: bool  # False: an earlier identical request had already written it


async def _find(client: FhirClient, request: WriteRequest, resource_type: str, *, deadline: float) -> dict | None:
    name, _, token = condition(request).partition("=")
    found = await client.search(resource_type, {name: token}, deadline=deadline, max_pages=1)
    ours = [r for r in found.resources if request.is_ours(r, resource_type)]
    if len(ours) > 1:
        raise WriteInDoubt("duplicate_found")
    return ours[0] if ours else None


async def _read_back(client: FhirClient, request: WriteRequest, resource: dict, *, deadline: float) -> dict:
    resource_type, resource_id = resource.get("resourceType", ""), str(resource.get("id", ""))
    try:
        stored = await client.read(resource_type, resource_id, deadline=deadline)
    except EHRError:
        raise WriteInDoubt("read_back_failed") from None
    if not request.is_ours(stored, resource_type) or str(stored.get("id", "")) != resource_id:
        raise WriteInDoubt("read_back_mismatch")
    return stored


async def _resolve(client: FhirClient, request: WriteRequest, resource_type: str, *, timeout_s: float) -> dict:
    """After an answer that leaves the write unknown: search again, on a deadline of its own."""
    try:
        found = await _find(client, request, resource_type, deadline=deadline_in(timeout_s))
    except EHRError:
        raise WriteInDoubt("unresolved") from None
    if found is None:
        raise WriteInDoubt("not_written")
    return found


async def find_written(
    client: FhirClient, request: WriteRequest, resource_type: str, *, deadline: float
) -> Written | None:
    """An earlier try's write of this same request, read back, or None (the search before a POST)."""
    existing = await _find(client, request, resource_type, deadline=deadline)
    if existing is None:
        return None
    stored = await _read_back(client, request, existing, deadline=deadline)
    return Written(resource_type, str(stored["id"]), stored, False)


async def post_once(
    client: FhirClient,
    request: WriteRequest,
    resource_type: str,
    *,
    conditional: bool,
    deadline: float,
    conflict: type[EHRError] | None = None,
) -> Written:
    """POST the request (with If-None-Exist where `conditional`), settle an unknown outcome by its
    identifier, read it back. `conflict`: raised for a 409 that means "taken" (nothing written), e.g.
    a booked slot; without it a 409 or 412 is settled like a timeout."""
    resource = request.build(resource_type)
    resolve_s = client.config.request_deadline_s
    try:
        status, body = await client.create(
            resource, deadline=deadline, if_none_exist=condition(request) if conditional else None
        )
    except EHRUnavailable:  # a timeout or a 5xx: the write may have committed
        body, status = await _resolve(client, request, resource_type, timeout_s=resolve_s), 200
    except EHRRequestRejected as refused:
        if conflict is not None and refused.status == 409:
            raise conflict() from None
        if refused.status not in DOUBTFUL_STATUSES:
            raise
        body, status = await _resolve(client, request, resource_type, timeout_s=resolve_s), 200
    if not body.get("id"):
        raise WriteInDoubt("no_id_returned")
    stored = await _read_back(client, request, body, deadline=max(deadline, deadline_in(resolve_s)))
    return Written(resource_type, str(stored["id"]), stored, created=status == 201)


async def create_once(
    client: FhirClient, request: WriteRequest, resource_type: str, *, conditional: bool, deadline: float
) -> Written:
    """The request written as `resource_type`, read back; raises WriteInDoubt, or EHRRequestRejected
    when the EHR refused it outright (nothing written)."""
    request.build(resource_type)  # an invalid resource is refused before the EHR is asked anything
    if not conditional:
        existing = await find_written(client, request, resource_type, deadline=deadline)
        if existing is not None:
            return existing
    return await post_once(client, request, resource_type, conditional=conditional, deadline=deadline)
