"""The hash chain's arithmetic: a canonical form of a record and the keyed link over it.

link(position) = HMAC-SHA256(AUDIT_HMAC_KEY, "position|previous hash|canonical record").
The canonical form is compact JSON with sorted keys over every stored field, the row id
included, so a changed, moved or swapped row no longer matches its seal.
"""

import hashlib
import hmac
import json
from datetime import UTC

from django.conf import settings

from audit.models import AuditRecord

GENESIS = "0" * 64
CANONICAL_FIELDS = (
    "id",
    "event_id",
    "recorded_at",
    "health_system",
    "agent_client",
    "call_session",
    "correlation_id",
    "patient_reference",
    "action",
    "resource_types",
    "resource_ids",
    "data_category",
    "purpose",
    "outcome",
    "source_address",
    "verification_method",
)


def canonical(record: AuditRecord) -> str:
    values = {name: getattr(record, name) for name in CANONICAL_FIELDS}
    values["event_id"] = str(record.event_id)
    values["recorded_at"] = record.recorded_at.astimezone(UTC).isoformat(timespec="microseconds")
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def link(*, position: int, previous_hash: str, record: AuditRecord) -> str:
    message = f"{position}|{previous_hash}|{canonical(record)}".encode()
    return hmac.new(_key(b"audit-chain"), message, hashlib.sha256).hexdigest()


def sign(payload: str, *, purpose: str) -> str:
    """A keyed signature for artefacts derived from the chain (digests, purge anchors)."""
    return hmac.new(_key(purpose.encode()), payload.encode(), hashlib.sha256).hexdigest()


def signature_matches(payload: str, signature: str, *, purpose: str) -> bool:
    return hmac.compare_digest(sign(payload, purpose=purpose), signature)


def _key(label: bytes) -> bytes:
    # Domain separation: one configured key, a distinct derived key per use.
    return hmac.new(settings.AUDIT_HMAC_KEY.encode(), label, hashlib.sha256).digest()
