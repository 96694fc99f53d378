"""Signed digests of the chain head, exported outside the database.

A digest pins (position, hash) at a moment. Whoever rewrites the whole table, even re-sealing it,
cannot make an earlier digest match again without the key, and a chain cut short falls below a
digest's position. Point AUDIT_DIGEST_DIR at write-once storage (an object-lock bucket mount).
"""

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from audit import chain
from audit.sealing import seal_pending
from audit.selectors import chain_head

FORMAT = "voice-ehr-gateway/audit-digest/1"
PURPOSE = "digest"


@dataclass(frozen=True)
class Digest:
    name: str
    position: int
    hash: str
    genuine: bool


def export_digest() -> Path | None:
    """Seal what is pending, then write a signed digest of the head; None when there is no chain yet."""
    seal_pending()
    head = chain_head()
    if head is None:
        return None
    directory = Path(settings.AUDIT_DIGEST_DIR)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"audit-digest-{head.position:012d}.json"
    if path.exists():
        return path
    body = {
        "format": FORMAT,
        "position": head.position,
        "hash": head.hash,
        "event_id": str(head.event_id),
        "sealed_at": head.sealed_at.isoformat(),
        "exported_at": timezone.now().isoformat(),
    }
    body["signature"] = chain.sign(_payload(body), purpose=PURPOSE)
    _write_atomically(path, json.dumps(body, indent=2, sort_keys=True))
    return path


def read_all() -> list[Digest]:
    directory = Path(settings.AUDIT_DIGEST_DIR)
    if not directory.is_dir():
        return []
    return [_read(path) for path in sorted(directory.glob("audit-digest-*.json"))]


def _read(path: Path) -> Digest:
    try:
        body = json.loads(path.read_text())
        genuine = chain.signature_matches(_payload(body), body.get("signature", ""), purpose=PURPOSE)
        return Digest(name=path.name, position=int(body["position"]), hash=str(body["hash"]), genuine=genuine)
    except (ValueError, KeyError, TypeError):
        return Digest(name=path.name, position=-1, hash="", genuine=False)


def _payload(body: dict) -> str:
    signed = {k: v for k, v in body.items() if k != "signature"}
    return json.dumps(signed, sort_keys=True, separators=(",", ":"))


def _write_atomically(path: Path, text: str) -> None:
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".digest-")
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(temp, path)
