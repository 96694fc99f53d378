"""Call-scoped opaque handles (issue 22): how the gateway names an EHR thing to the agent in a URL or an
argument without giving the EHR's id. A keyed hash of the call id, a kind and the EHR id: the same
within one call, meaningless in any other, and resolved only against what this call was given.
"""

import hashlib
import hmac

from django.conf import settings

KINDS = ("of", "pv", "ap")  # an offer (its slot), a provider, an appointment


def handle(call_id: str, kind: str, value: str) -> str:
    """ "ap-1f3c..." for an appointment of this call."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"{call_id}\x00{kind}\x00{value}".encode(), hashlib.sha256)
    return f"{kind}-{digest.hexdigest()[:16]}"


def with_appointment_handles(data: list | dict, call_id: str) -> list | dict:
    """The appointments answer with each appointment's `handle`, for cancel and reschedule."""
    if not isinstance(data, list):
        return data
    return [
        item | {"handle": handle(call_id, "ap", str(item["id"]))} if isinstance(item, dict) and item.get("id") else item
        for item in data
    ]
