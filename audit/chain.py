"""The hash chain's arithmetic: a canonical form of a record and the keyed link over a seal.

seal hash = HMAC-SHA256(AUDIT_HMAC_KEY, "audit-seal/2|" + every field of the seal but its hash):
position, previous hash, record id, event id, sealed_at, verdict and the SHA-256 of the canonical
record. The canonical form is compact JSON with sorted keys over every stored field of the record,
the row id included, so a changed, moved or swapped row no longer matches its seal, and a seal
whose sealed_at or any other field changed no longer matches its own hash.
"""

import hashlib
import hmac
import json
from datetime import UTC

from django.conf import settings

from audit.models import AuditRecord, AuditSeal

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


SEAL_FORMAT = "audit-seal/2"


def record_digest(record: AuditRecord) -> str:
    return hashlib.sha256(canonical(record).encode()).hexdigest()


def seal_hash(seal: AuditSeal) -> str:
    """The link a seal must carry: a keyed MAC over all of its other fields."""
    fields = {
        "position": seal.position,
        "previous_hash": seal.previous_hash,
        "record_id": seal.record_id,
        "event_id": str(seal.event_id),
        "sealed_at": seal.sealed_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "record_digest": seal.record_digest,
        "verdict": seal.verdict,
    }
    message = SEAL_FORMAT + "|" + json.dumps(fields, sort_keys=True, separators=(",", ":"))
    return hmac.new(_key(b"audit-chain"), message.encode(), hashlib.sha256).hexdigest()


def sign(payload: str, *, purpose: str) -> str:
    """A keyed signature for artefacts derived from the chain (digests, purge anchors)."""
    return hmac.new(_key(purpose.encode()), payload.encode(), hashlib.sha256).hexdigest()


def signature_matches(payload: str, signature: str, *, purpose: str) -> bool:
    return hmac.compare_digest(sign(payload, purpose=purpose), signature)


def _key(label: bytes) -> bytes:
    # Domain separation: one configured key, a distinct derived key per use.
    return hmac.new(settings.AUDIT_HMAC_KEY.encode(), label, hashlib.sha256).digest()
