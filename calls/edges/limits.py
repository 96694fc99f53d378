"""Limits on what a request may carry, answered with the error envelope that names the problem.

Request bodies: at most MAX_BODY_BYTES (1 MiB), else 413 (`BodyLimitMiddleware`, before anything
reads the body; a chunked body without Content-Length is read only up to the limit). JSON: nested
at most MAX_JSON_DEPTH (32) levels, else 400 (`LimitedJSONParser` for REST and the webhooks,
`json_body` for MCP), checked without recursion so no depth can exhaust the stack.
"""

import json
from collections.abc import Callable
from io import BytesIO

from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions
from rest_framework.parsers import JSONParser

MAX_BODY_BYTES = 1024 * 1024
MAX_JSON_DEPTH = 32
TOO_LARGE = {"body": f"request body is larger than {MAX_BODY_BYTES} bytes"}
TOO_DEEP = {"body": f"JSON is nested deeper than {MAX_JSON_DEPTH} levels"}
NOT_JSON = {"body": "request body is not valid JSON"}


class JSONTooDeep(exceptions.ParseError):
    default_detail = TOO_DEEP["body"]


def too_deep(value: object, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a parsed JSON value nests more than `limit` arrays or objects (iterative, no recursion)."""
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def loads(data: bytes | str) -> object:
    """Strict JSON (no NaN or Infinity) within the depth limit; JSONTooDeep or ValueError otherwise."""
    try:
        value = json.loads(data, parse_constant=_reject_constant)
    except RecursionError:  # deeper than the interpreter's own limit: far past ours
        raise JSONTooDeep from None
    if too_deep(value):
        raise JSONTooDeep
    return value


class LimitedJSONParser(JSONParser):
    """DRF's JSON parser with the depth limit; any undecodable body is a ParseError (a 400 envelope)."""

    def parse(self, stream: object, media_type: str | None = None, parser_context: dict | None = None) -> object:
        data = stream.read() if stream is not None else b""
        try:
            return loads(data)
        except (ValueError, UnicodeDecodeError):
            raise exceptions.ParseError(NOT_JSON["body"]) from None


def error(errors: dict[str, str], status: int) -> JsonResponse:
    return JsonResponse({"status": "error", "errors": errors}, status=status)


class BodyLimitMiddleware:
    """413 for a body over the limit, before a view reads it; 400 for a Content-Length that is not a number."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        declared = request.META.get("CONTENT_LENGTH") or ""
        if declared:
            if not declared.isascii() or not declared.isdigit():
                return error({"content-length": "must be a whole number of bytes"}, 400)
            if int(declared) > MAX_BODY_BYTES:
                return error(TOO_LARGE, 413)
        elif request.method in ("POST", "PUT", "PATCH") and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", ""):
            body = request.read(MAX_BODY_BYTES + 1)
            if len(body) > MAX_BODY_BYTES:
                return error(TOO_LARGE, 413)
            request._body, request._stream = body, BytesIO(body)  # what HttpRequest.body reads from
        return self.get_response(request)
