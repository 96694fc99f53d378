"""Signed checkpoints of the chain head, appended outside the database after every seal.

A checkpoint pins (count, last record id, head position and hash, time) and is signed with an
Ed25519 key (AUDIT_CHECKPOINT_KEY), so an auditor checks it with the public key alone. Lines are
appended to one file per UTC hour in AUDIT_DIGEST_DIR (write-once or append-only storage) and,
when set, in AUDIT_CHECKPOINT_WITNESS_DIR (another mount). The sealer writes one after every seal
that moved the head and at least every AUDIT_CHECKPOINT_EVERY_S, so a record deleted after it was
sealed is caught against the newest checkpoint: the window left open is the time from a record's
write to the next seal (one seal interval). A purge writes a "tombstone" checkpoint naming the new
start of the chain, so a purge never reads as truncation.
"""

import base64
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.utils import timezone

from audit.selectors import chain_head, chain_start

FORMAT = "voice-ehr-gateway/audit-checkpoint/1"
PREFIX = "audit-checkpoints-"
TAIL_BYTES = 4096  # a checkpoint line is about 400 bytes


@dataclass(frozen=True)
class Checkpoint:
    kind: str  # seal | heartbeat | tombstone
    time: datetime
    start_position: int
    head_position: int
    head_hash: str
    last_id: int | None
    count: int
    source: str  # file name, for reports

    def describe(self) -> str:
        return f"checkpoint {self.source} of {self.time:%Y-%m-%d %H:%M:%S}Z"


@dataclass(frozen=True)
class Found:
    """What verification reads: the newest checkpoint, the last of every hour, and any line that is not genuine."""

    newest: Checkpoint | None
    hourly: list[Checkpoint]
    not_genuine: list[str]


def write(*, kind: str) -> Checkpoint:
    """Sign the current chain head and append it to this hour's file (and the witness's)."""
    start, head, now = chain_start(), chain_head(), timezone.now()
    position, digest = (head.position, head.hash) if head else (start.position, start.hash)
    body = {
        "format": FORMAT,
        "kind": kind,
        "time": now.astimezone(UTC).isoformat(timespec="microseconds"),
        "start_position": start.position,
        "head_position": position,
        "head_hash": digest,
        "last_id": head.record_id if head else None,
        "count": position - start.position,
        "key": public_key_text(),
    }
    body["signature"] = base64.b64encode(_private_key(settings.AUDIT_CHECKPOINT_KEY).sign(_signed(body))).decode()
    line = (json.dumps(body, sort_keys=True, separators=(",", ":")) + "\n").encode()
    name = f"{PREFIX}{now.astimezone(UTC):%Y%m%dT%H}.jsonl"
    for directory in _directories():
        _append(directory / name, line)
    return _parse(body, source=name)


def write_if_due() -> Checkpoint | None:
    """After a seal: a checkpoint when the head moved since the last one, or the last is old enough."""
    last, head, start = last_written(), chain_head(), chain_start()
    position = head.position if head else start.position
    every = timedelta(seconds=settings.AUDIT_CHECKPOINT_EVERY_S)
    if last and position < last.head_position:
        return None  # never anchor a chain cut short (audit/sealing.py reports it)
    if last and (last.head_position, last.start_position) == (position, start.position):
        if timezone.now() - last.time < every:
            return None
        return write(kind="heartbeat")
    return write(kind="seal")


def last_written() -> Checkpoint | None:
    """The last genuine line of the newest file in AUDIT_DIGEST_DIR (the sealer's own, cheap to read)."""
    for path in reversed(_files(Path(settings.AUDIT_DIGEST_DIR))[-2:]):
        lines, _ = _lines(path, whole=False)
        for text in reversed(lines):
            checkpoint = _read_line(text, source=path.name)
            if checkpoint is not None:
                return checkpoint
    return None


def read_for_verification() -> Found:
    """Every directory's files: all lines of the newest two, the last line of each older one."""
    newest, hourly, bad = None, [], []
    for directory in _directories():
        files = _files(directory)
        for index, path in enumerate(files):
            whole = index >= len(files) - 2
            lines, torn = _lines(path, whole=whole)
            lines = lines if whole else lines[-1:]
            found = []
            for number, text in enumerate(lines, 1):
                checkpoint = _read_line(text, source=path.name)
                if checkpoint is not None:
                    found.append(checkpoint)
                elif not (torn and number == len(lines)):  # a torn last line (a crash mid-append) is no forgery
                    bad.append(f"{path.name} ({directory}) line {number if whole else 'last'}")
            if found:
                hourly.append(max(found, key=_order))
                newest = max([c for c in (newest, *found) if c], key=_order)
    return Found(newest=newest, hourly=hourly, not_genuine=bad)


def public_key_text() -> str:
    """The public half of AUDIT_CHECKPOINT_KEY (base64), for auditors and AUDIT_CHECKPOINT_PUBLIC_KEYS."""
    public = _private_key(settings.AUDIT_CHECKPOINT_KEY).public_key()
    return base64.b64encode(public.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def signature_valid(body: dict) -> bool:
    """True when the line was signed by a trusted key: the current one or a listed retired one."""
    trusted = {public_key_text(), *settings.AUDIT_CHECKPOINT_PUBLIC_KEYS}
    if body.get("key") not in trusted or body.get("format") != FORMAT:
        return False
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(body["key"]))
        key.verify(base64.b64decode(body.get("signature", "")), _signed(body))
    except (InvalidSignature, ValueError):
        return False
    return True


def _read_line(text: str, *, source: str) -> Checkpoint | None:
    try:
        body = json.loads(text)
        return _parse(body, source=source) if signature_valid(body) else None
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def _parse(body: dict, *, source: str) -> Checkpoint:
    return Checkpoint(
        kind=str(body["kind"]),
        time=datetime.fromisoformat(body["time"]),
        start_position=int(body["start_position"]),
        head_position=int(body["head_position"]),
        head_hash=str(body["head_hash"]),
        last_id=None if body["last_id"] is None else int(body["last_id"]),
        count=int(body["count"]),
        source=source,
    )


def _order(checkpoint: Checkpoint) -> tuple[int, datetime]:
    return checkpoint.head_position, checkpoint.time


def _signed(body: dict) -> bytes:
    return json.dumps(
        {k: v for k, v in body.items() if k != "signature"}, sort_keys=True, separators=(",", ":")
    ).encode()


def _directories() -> list[Path]:
    witness = settings.AUDIT_CHECKPOINT_WITNESS_DIR
    return [Path(settings.AUDIT_DIGEST_DIR)] + ([Path(witness)] if witness else [])


def _files(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"{PREFIX}*.jsonl")) if directory.is_dir() else []


def _lines(path: Path, *, whole: bool) -> tuple[list[str], bool]:
    """The file's non-empty lines (only its tail unless whole), and whether the last one is torn."""
    with path.open("rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        start = 0 if whole else max(0, size - TAIL_BYTES)
        handle.seek(start)
        data = handle.read()
    lines = data.decode(errors="replace").split("\n")
    if start:
        lines = lines[1:]  # the first is cut by the seek
    return [line for line in lines if line.strip()], not data.endswith(b"\n")


def _append(path: Path, line: bytes) -> None:
    # One write of one line with O_APPEND: concurrent sealers' lines never interleave.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


@lru_cache(maxsize=4)
def _private_key(encoded: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(encoded))
