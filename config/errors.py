"""Django's own error pages as the contract's envelope, for every path but the admin's HTML.

A request Django refuses before any view (no such URL, a bad Host header, too many fields) or an
exception no view caught still gets JSON with a top-level `status`, as agents switch on it. A 404
names what was not found (the path, a call, a health system), never whether it exists elsewhere.
"""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from calls import contract

ADMIN_PREFIX = "/admin/"
NOT_FOUND_FIELDS = ("call_id", "health_system")
GATEWAY_ERROR_SAY = contract.STORE_DOWN_SAY


def _html(request: HttpRequest) -> bool:
    return request.path.startswith(ADMIN_PREFIX)


def _json(body: dict, status: int) -> JsonResponse:
    return JsonResponse(body, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _html(request):
        return defaults.bad_request(request, exception)
    return _json({"status": "error", "errors": {"request": "the request could not be read"}}, 400)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _html(request):
        return defaults.permission_denied(request, exception)
    return _json({"status": "error", "errors": {"request": "not allowed"}}, 403)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _html(request):
        return defaults.page_not_found(request, exception)
    named = str(exception) if exception is not None and exception.args else ""
    field = named if named in NOT_FOUND_FIELDS else "path"
    return _json({"status": "error", "errors": {field: "not found"}}, 404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _html(request):
        return defaults.server_error(request)
    body = {"status": "unavailable", "reason": "gateway_error", "transfer": None, "say": GATEWAY_ERROR_SAY,
            "retry_after_ms": contract.STORE_DOWN_RETRY_S * 1000}  # fmt: skip
    return _json(body, 500)
