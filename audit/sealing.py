"""Seal new records into the hash chain, in order, one sealer at a time.

Writers only INSERT; this service (a beat task every few seconds, and on demand before a
verification or export) links the records no seal covers yet, oldest id first. A Postgres
advisory lock serializes sealers; the seal's position primary key is the backstop on SQLite.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit import chain
from audit.models import AuditRecord, AuditSeal
from audit.selectors import chain_head, chain_start

SEAL_LOCK_KEY = 0x4155_4449_5453  # "AUDITS": the advisory lock id sealers share
DEFAULT_BATCH = 5000


def seal_pending(*, batch: int = DEFAULT_BATCH, full_sweep: bool = False, now: datetime | None = None) -> int:
    """Seal every committed record not yet in the chain; return how many were sealed."""
    sealed = 0
    while True:
        count = _seal_batch(batch=batch, full_sweep=full_sweep, now=now or timezone.now())
        sealed += count
        if count < batch:
            return sealed


def _seal_batch(*, batch: int, full_sweep: bool, now: datetime) -> int:
    with transaction.atomic():
        _take_sealer_lock()
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
            digest = chain.link(position=position, previous_hash=previous, record=record)
            seals.append(
                AuditSeal(
                    position=position,
                    record_id=record.pk,
                    event_id=record.event_id,
                    previous_hash=previous,
                    hash=digest,
                    sealed_at=now,
                )
            )
            previous = digest
        AuditSeal.objects.bulk_create(seals)
        return len(seals)


def _take_sealer_lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEAL_LOCK_KEY])


def _lookback() -> timedelta:
    return timedelta(seconds=settings.AUDIT_SEAL_LOOKBACK_S)
