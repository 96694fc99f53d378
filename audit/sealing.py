"""Seal new records into the hash chain, in order, one sealer at a time, then checkpoint the head.

Writers only INSERT; this service (a beat task every few seconds, and on demand before a
verification or export) links the records no seal covers yet, oldest id first. A Postgres
advisory lock serializes sealers; the seal's position primary key is the backstop on SQLite.
Each record's MAC is checked first: one that fails (forged, or altered before sealing) is sealed
as quarantined, so the incident is itself in the chain, and sealing goes on. A chain whose head
is behind the newest checkpoint (its tail deleted) is not extended: that is reported, not sealed
over. Call it outside a transaction: the checkpoint written after it must name committed seals.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit import chain, checkpoints, record_mac
from audit.models import AuditRecord, AuditSeal, SealVerdict
from audit.selectors import chain_head, chain_start

logger = logging.getLogger(__name__)

SEAL_LOCK_KEY = 0x4155_4449_5453  # "AUDITS": the advisory lock id sealers share
DEFAULT_BATCH = 5000


def seal_pending(*, batch: int = DEFAULT_BATCH, full_sweep: bool = False, now: datetime | None = None) -> int:
    """Seal every committed record not yet in the chain, checkpoint the head; return how many were sealed."""
    if _behind_checkpoint():
        return 0
    sealed = 0
    while True:
        count = _seal_batch(batch=batch, full_sweep=full_sweep, now=now or timezone.now())
        sealed += count
        if count < batch:
            break
    checkpoints.write_if_due()
    return sealed


def _seal_batch(*, batch: int, full_sweep: bool, now: datetime) -> int:
    with transaction.atomic():
        _take_sealer_lock()
        if _behind_checkpoint():
            return 0
        head = chain_head()
        pending = AuditRecord.objects.filter(seal__isnull=True).order_by("id")
        if head is not None and not full_sweep:
            # Bounded look-back keeps the anti-join cheap; verify_audit_log reports anything older left unsealed.
            pending = pending.filter(recorded_at__gte=head.sealed_at - _lookback())
        start = chain_start()
        position, previous = (head.position, head.hash) if head else (start.position, start.hash)
        seals = []
        for record in pending[:batch]:
            position += 1
            seal = _seal(record, position=position, previous=previous, now=now)
            seals.append(seal)
            previous = seal.hash
        AuditSeal.objects.bulk_create(seals)
        return len(seals)


def _seal(record: AuditRecord, *, position: int, previous: str, now: datetime) -> AuditSeal:
    verdict = SealVerdict.GENUINE if record_mac.is_genuine(record) else SealVerdict.QUARANTINED
    if verdict == SealVerdict.QUARANTINED:
        # An incident: ids only, never the record's values (they may be PHI, and they are not to be trusted).
        logger.error(
            "audit incident: record id %s (event %s) has an invalid MAC; sealed as quarantined at position %s",
            record.pk,
            record.event_id,
            position,
        )
    seal = AuditSeal(
        position=position,
        record_id=record.pk,
        event_id=record.event_id,
        previous_hash=previous,
        sealed_at=now,
        record_digest=chain.record_digest(record),
        verdict=verdict,
    )
    seal.hash = chain.seal_hash(seal)
    return seal


def _behind_checkpoint() -> bool:
    """True (and logged) when the chain ends before the newest checkpoint: its tail was deleted."""
    last = checkpoints.last_written()
    head = chain_head()
    position = head.position if head else chain_start().position
    if last is None or position >= last.head_position:
        return False
    logger.error(
        "audit incident: chain head at %s is behind %s at %s; not sealing",
        position,
        last.describe(),
        last.head_position,
    )
    return True


def _take_sealer_lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK_KEY])


def _lookback() -> timedelta:
    return timedelta(seconds=settings.AUDIT_SEAL_LOOKBACK_S)
