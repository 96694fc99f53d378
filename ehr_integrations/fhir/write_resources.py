"""What every gateway write shares: validation by fhirclient's R4 models before anything is sent,
and the business identifier that makes a write findable (and conditional) whatever the server does
with its own ids (issue 21). One request type per tool implements WriteRequest:
refill_resources.RefillRequest, message_resources.CareTeamMessage, scheduling.bookings.Booking.
"""

from typing import Protocol

from fhirclient.models import appointment, communication, task
from fhirclient.models.fhirabstractbase import FHIRValidationError

MODELS = {"Task": task.Task, "Communication": communication.Communication, "Appointment": appointment.Appointment}


class InvalidResource(ValueError):
    """The resource did not validate against the R4 model: never sent."""


class WriteRequest(Protocol):
    """One write, as plain values; builds its resource and recognises it when the EHR returns it."""

    identifier_system: str
    identifier: str

    def build(self, resource_type: str) -> dict: ...

    def is_ours(self, resource: dict, resource_type: str) -> bool: ...


def condition(request: WriteRequest) -> str:
    """The `If-None-Exist` query (and the search) that finds this request's write."""
    return f"identifier={request.identifier_system}|{request.identifier}"


def identifier(request: WriteRequest) -> list[dict]:
    return [{"system": request.identifier_system, "value": request.identifier}]


def reference(value: str | None) -> dict | None:
    return {"reference": value} if value else None


def validated(body: dict) -> dict:
    """The resource as JSON, empty values left out, validated by its R4 model; raises InvalidResource."""
    body = {key: value for key, value in body.items() if value not in (None, [])}
    try:
        return MODELS[body["resourceType"]](body, strict=True).as_json()
    except (FHIRValidationError, ValueError, TypeError, KeyError) as exc:
        raise InvalidResource(type(exc).__name__) from None


def carries(resource: dict, request: WriteRequest, resource_type: str) -> bool:
    """Whether a resource the EHR returned has this type and this request's business identifier."""
    if resource.get("resourceType") != resource_type:
        return False
    return any(
        i.get("system") == request.identifier_system and i.get("value") == request.identifier
        for i in resource.get("identifier") or []
        if isinstance(i, dict)
    )
