"""The one place that turns results and typed errors into the agent contract's envelope."""

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def error_response(errors: dict[str, str], http_status: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"status": "error", "errors": errors}, status=http_status)


def _flatten(detail, prefix: str = "") -> dict[str, str]:
    """DRF error detail (nested dicts/lists) as field path -> first message."""
    if isinstance(detail, dict):
        out: dict[str, str] = {}
        for key, value in detail.items():
            name = "body" if key == "non_field_errors" else str(key)
            out.update(_flatten(value, f"{prefix}.{name}" if prefix else name))
        return out
    if isinstance(detail, list):
        if detail and all(not isinstance(d, (dict, list)) for d in detail):
            return {prefix or "body": str(detail[0])}
        out = {}
        for index, value in enumerate(detail):
            out.update(_flatten(value, f"{prefix}[{index}]"))
        return out
    return {prefix or "body": str(detail)}


def exception_handler(exc, context):
    if isinstance(exc, exceptions.ValidationError):
        return error_response(_flatten(exc.detail))
    if isinstance(exc, exceptions.ParseError):
        return error_response({"body": "request body is not valid JSON"})
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        response = error_response({"authorization": str(exc.detail)}, status.HTTP_401_UNAUTHORIZED)
        response["WWW-Authenticate"] = "Api-Key"
        return response
    if isinstance(exc, exceptions.NotFound):
        return error_response({"call_id": "not found"}, status.HTTP_404_NOT_FOUND)
    response = drf_exception_handler(exc, context)
    if response is not None:
        response.data = {"status": "error", "errors": {"request": str(getattr(exc, "detail", exc))}}
    return response
