"""Confirmations of a write: the first call answers `confirm` with an id; only a second call with
that id and the same request writes (issue 21). An id lives 5 minutes, belongs to one call, and is
bound to a keyed hash of the request (what would be written), so a changed body is refused. What
it remembers (the plan of the write) is PHI: encrypted at rest in the shared cache, as answers are.
"""

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping

from django.conf import settings
from django.core.cache import cache

from calls.outcomes import ConfirmationRefused
from compliance import encryption

LIFETIME_S = 5 * 60
UNKNOWN = "unknown or expired: ask again with confirm false"
CHANGED = "was given for a different request: ask again with confirm false"


def _slot(call_id: str, confirmation_id: str) -> str:
    return f"write-confirm:{call_id}:{_digest(confirmation_id)}"


def _digest(value: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def fingerprint(tool: str, request: Mapping[str, object]) -> str:
    """The keyed hash of what a request asks to write (its body without confirm and confirmation_id)."""
    return _digest(tool + "\x00" + json.dumps(dict(request), sort_keys=True, default=str))


def issue(*, call_id: str, request_hash: str, plan: dict) -> str:
    """A new confirmation id for this call, remembering the plan of the write."""
    confirmation_id = uuid.uuid4().hex
    stored = {"hash": request_hash, "plan": encryption.encrypt(json.dumps(plan))}
    cache.set(_slot(call_id, confirmation_id), stored, timeout=LIFETIME_S)
    return confirmation_id


def redeem(*, call_id: str, confirmation_id: str, request_hash: str) -> dict:
    """The plan behind a live confirmation id of this call for this same request; raises ConfirmationRefused.

    Not used up: a confirm sent again (a retry) finds the same plan, whose write is made once.
    """
    stored = cache.get(_slot(call_id, confirmation_id))
    if not stored:
        raise ConfirmationRefused({"confirmation_id": UNKNOWN})
    if not hmac.compare_digest(stored["hash"], request_hash):
        raise ConfirmationRefused({"confirmation_id": CHANGED})
    return json.loads(encryption.decrypt(stored["plan"]))
