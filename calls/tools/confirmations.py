"""Confirmations of a write: the first call answers `confirm` with an id; only a second call with
that id and the same request writes (issue 21). An id lives 5 minutes, belongs to one call, and is
bound to a keyed hash of the request (what would be written), so a changed body is refused. What
it remembers (the plan of the write) is PHI: it is kept in the call's own encrypted session store,
so ending the call erases it with everything else the call held.
"""

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Mapping

from django.conf import settings

from calls.outcomes import CallEnded, ConfirmationRefused
from calls.session import session_store

LIFETIME_S = 5 * 60
NAME = "confirmations"  # in the call's session store: {digest of the id: {"hash", "plan", "expires"}}
UNKNOWN = "unknown or expired: ask again with confirm false"
CHANGED = "was given for a different request: ask again with confirm false"


def _digest(value: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def fingerprint(tool: str, request: Mapping[str, object]) -> str:
    """The keyed hash of what a request asks to write (its body without confirm and confirmation_id)."""
    return _digest(tool + "\x00" + json.dumps(dict(request), sort_keys=True, default=str))


def _live(call_id: str) -> dict:
    stored = session_store.get(call_id, NAME)
    now = time.time()
    return {k: v for k, v in (stored[0] if stored else {}).items() if v["expires"] > now}


def issue(*, call_id: str, request_hash: str, plan: dict) -> str:
    """A new confirmation id for this call, remembering the plan of the write; raises CallEnded."""
    confirmation_id = uuid.uuid4().hex
    held = _live(call_id)
    held[_digest(confirmation_id)] = {"hash": request_hash, "plan": plan, "expires": time.time() + LIFETIME_S}
    if not session_store.put(call_id, NAME, held):
        raise CallEnded()  # the call's store is gone: it ended meanwhile
    return confirmation_id


def redeem(*, call_id: str, confirmation_id: str, request_hash: str) -> dict:
    """The plan behind a live confirmation id of this call for this same request; raises ConfirmationRefused.

    Not used up: a confirm sent again (a retry) finds the same plan, whose write is made once.
    """
    held = _live(call_id).get(_digest(confirmation_id))
    if held is None:
        raise ConfirmationRefused({"confirmation_id": UNKNOWN})
    if not hmac.compare_digest(held["hash"], request_hash):
        raise ConfirmationRefused({"confirmation_id": CHANGED})
    return held["plan"]
