"""REST answers: the contract's envelopes (calls/contract.py) as DRF responses, and DRF's errors as envelopes."""

import logging

from django.db import DatabaseError
from django.http import Http404
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from calls import contract, outcomes
from calls.contract import Envelope
from calls.edges.limits import JSONTooDeep

log = logging.getLogger(__name__)


def respond(answer: Envelope, headers: dict[str, str] | None = None) -> Response:
    http, body = answer
    return Response(body, status=http, headers=headers)


def error_response(errors: dict[str, str], http_status: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return respond(contract.error(errors, http_status))


def render(result: outcomes.Result) -> Response:
    """A service result as the contract's envelope."""
    return respond(contract.envelope(result))


def refusal(exc: outcomes.CallRefusal, http_status: int | None = None) -> Response:
    http, body = contract.refusal_envelope(exc)
    response = Response(body, status=http_status or http)
    retry_after_ms = getattr(exc, "retry_after_ms", None)
    if retry_after_ms:
        response["Retry-After"] = str(max(1, round(retry_after_ms / 1000)))
    return response


STORE_FAILURES = (DatabaseError, RedisError, ConnectionInterrupted)
NOT_FOUND_FIELDS = ("call_id", "health_system")


def store_unavailable() -> Response:
    return respond(contract.store_unavailable(), headers={"Retry-After": str(contract.STORE_DOWN_RETRY_S)})


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, outcomes.CallRefusal):
        return refusal(exc)
    if isinstance(exc, STORE_FAILURES):
        log.error("gateway store unavailable: %s", type(exc).__name__)
        return store_unavailable()
    if isinstance(exc, exceptions.ValidationError):
        return respond(contract.validation_envelope(exc))
    if isinstance(exc, JSONTooDeep):
        return error_response({"body": str(exc.detail)})
    if isinstance(exc, exceptions.ParseError):
        return error_response({"body": "request body is not valid JSON"})
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        response = error_response({"authorization": str(exc.detail)}, status.HTTP_401_UNAUTHORIZED)
        response["WWW-Authenticate"] = "Api-Key"
        return response
    if isinstance(exc, Http404) and str(exc) in NOT_FOUND_FIELDS:
        return respond(contract.not_found(str(exc)))  # what was not found, never whether it exists elsewhere
    if isinstance(exc, (exceptions.NotFound, Http404)):
        return respond(contract.not_found("call_id"))
    response = drf_exception_handler(exc, context)
    if response is not None:
        response.data = {"status": "error", "errors": {"request": str(getattr(exc, "detail", exc))}}
    return response
