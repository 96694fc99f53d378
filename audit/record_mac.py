"""Each audit record's own MAC, made when it is written, under a key the database never holds.

mac = HMAC-SHA256(record key, "audit-record/1|key id|canonical record"), the canonical record
(audit/chain.py) covering every stored field and the row id, which the writer fixes before the
INSERT. A row inserted or edited by anyone without the key (a database superuser included) has
no valid MAC. AUDIT_RECORD_KEY lists keys newest first: the first makes MACs, every one verifies,
so a key can be rotated without re-signing six years of records.
"""

import hashlib
import hmac
from functools import lru_cache

from django.conf import settings

from audit.chain import canonical
from audit.models import AuditRecord

FORMAT = "audit-record/1"


def sign(record: AuditRecord) -> None:
    """Set the record's MAC and key id; its id must already be fixed."""
    key_id, key = _keys(tuple(settings.AUDIT_RECORD_KEY))[0]
    record.mac_key, record.mac = key_id, _mac(key, key_id, record)


def is_genuine(record: AuditRecord) -> bool:
    key = dict(_keys(tuple(settings.AUDIT_RECORD_KEY))).get(record.mac_key)
    return key is not None and hmac.compare_digest(_mac(key, record.mac_key, record), record.mac)


def _mac(key: bytes, key_id: str, record: AuditRecord) -> str:
    message = f"{FORMAT}|{key_id}|{canonical(record)}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


@lru_cache(maxsize=8)
def _keys(configured: tuple[str, ...]) -> list[tuple[str, bytes]]:
    # The id names a key without revealing it: a short digest, stored beside each MAC.
    keys = [secret.strip().encode() for secret in configured if secret.strip()]
    return [(hashlib.sha256(b"audit-record-key-id|" + key).hexdigest()[:12], key) for key in keys]
