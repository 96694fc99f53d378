"""`Idempotency-Key` on POSTs: voice platforms retry on timeouts, and a retried verify must not count a
second attempt, nor a retried open open a second call.

The first answer (status and body) is kept per agent client and key in the shared cache for a day,
encrypted at rest (compliance/encryption.py); the key and the request are kept only as keyed
hashes, so the store holds nothing readable about the caller. A retry with the same key and the
same request gets the first answer; the same key with a different request is a 409, as is a retry
while the first request still runs. Server errors (5xx) and `pending` (202) are not kept: a retry
runs again (a pending verify turn then answers pending again, or its verdict, exactly once).
"""

import functools
import hashlib
import hmac
import json
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from calls.edges.envelope import error_response
from compliance import encryption

HEADER = "Idempotency-Key"
KEEP_S = 24 * 3600
MAX_KEY_LENGTH = 255
RUNNING = "running"
ViewMethod = Callable[..., Response]


def _digest(*parts: bytes | str) -> str:
    mac = hmac.new(settings.SECRET_KEY.encode(), digestmod=hashlib.sha256)
    for part in parts:
        mac.update(part if isinstance(part, bytes) else part.encode())
        mac.update(b"\x00")
    return mac.hexdigest()


def _canonical(body: bytes) -> bytes:
    """The same JSON written differently is the same request."""
    try:
        return json.dumps(json.loads(body or b"null"), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        return body


def _conflict(message: str) -> Response:
    return error_response({"idempotency_key": message}, http_status=409)


def _remember(slot: str, fingerprint: str, response: Response) -> None:
    if response.status_code >= 500 or response.status_code == 202:  # a `pending` is no answer: ask again
        cache.delete(slot)
        return
    answer = {"status": response.status_code, "data": response.data, "retry_after": response.get("Retry-After")}
    stored = {"fingerprint": fingerprint, "answer": encryption.encrypt(json.dumps(answer))}
    cache.set(slot, stored, timeout=KEEP_S)


def _replay(stored: dict) -> Response:
    answer = json.loads(encryption.decrypt(stored["answer"]))
    response = Response(answer["data"], status=answer["status"])
    if answer["retry_after"]:
        response["Retry-After"] = answer["retry_after"]
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(view_method: ViewMethod) -> ViewMethod:
    """Decorate an APIView `post`: with an Idempotency-Key header, a retry replays the first answer."""

    @functools.wraps(view_method)
    def post(view: APIView, request: Request, *args: object, **kwargs: object) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return view_method(view, request, *args, **kwargs)
        if not key.strip() or len(key) > MAX_KEY_LENGTH:
            return error_response({"idempotency_key": f"must be 1 to {MAX_KEY_LENGTH} characters"})
        slot = f"idempotency:{request.user.pk}:{_digest(key)}"
        fingerprint = _digest(request.method, request.path, _canonical(request.body))
        if not cache.add(slot, {"fingerprint": fingerprint, "answer": RUNNING}, timeout=KEEP_S):
            stored = cache.get(slot) or {}
            if stored.get("fingerprint") != fingerprint:
                return _conflict("already used for a different request")
            if stored["answer"] == RUNNING:
                return _conflict("the first request with this key is still running")
            return _replay(stored)
        try:
            response = view_method(view, request, *args, **kwargs)
        except Exception as exc:  # the view's own error handling, so the refusal is what we keep
            try:
                response = view.handle_exception(exc)
            except BaseException:
                cache.delete(slot)
                raise
        _remember(slot, fingerprint, response)
        return response

    return post
