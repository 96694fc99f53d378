"""Retention: PHI access records are kept at least six years; older ones may be purged.

The purge removes a prefix of the chain (records and seals old enough), leaves a signed anchor
so verification resumes after it, and records every run, refused ones included. A purge then
writes a signed tombstone checkpoint naming the chain's new start, so it never reads as truncation. The append-only
triggers let its deletes through only for rows past the six-year floor (migration 0002).
"""

from datetime import datetime
from typing import TypedDict, Unpack

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from audit import chain, checkpoints
from audit.models import AuditRecord, AuditSeal, PurgeOutcome, PurgeRun
from audit.sealing import seal_pending
from audit.selectors import chain_head, chain_start, purge_run_payload
from audit.verification import verify_audit_log

LEGAL_MINIMUM_YEARS = 6  # HIPAA 45 CFR 164.316(b)(2)(i): six years from creation


class _RunFacts(TypedDict, total=False):
    purged: int
    anchor_position: int
    anchor_hash: str


def purge_expired(*, requested_by: str, before: datetime | None = None) -> PurgeRun:
    """Purge records recorded before `before` (default: now minus AUDIT_RETENTION_YEARS) if old enough."""
    now = timezone.now()
    years = settings.AUDIT_RETENTION_YEARS
    cutoff = before or years_before(now, years)
    floor = years_before(now, max(years, LEGAL_MINIMUM_YEARS))
    if years < LEGAL_MINIMUM_YEARS:
        return _record_run(requested_by, cutoff, PurgeOutcome.REFUSED, "retention setting is below six years")
    if cutoff > floor:
        return _record_run(requested_by, cutoff, PurgeOutcome.REFUSED, "cutoff is younger than the retention period")
    seal_pending(full_sweep=True)
    report = verify_audit_log()
    if not report.intact:
        return _record_run(requested_by, cutoff, PurgeOutcome.REFUSED, f"chain not intact ({report.problem.kind})")
    last = _last_purgeable_position(cutoff)
    if last is None:
        return _record_run(requested_by, cutoff, PurgeOutcome.NOTHING, "")
    return _purge_through(last, requested_by=requested_by, cutoff=cutoff)


def years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


def _last_purgeable_position(cutoff: datetime) -> int | None:
    start, head = chain_start(), chain_head()
    if head is None:
        return None
    young = AuditSeal.objects.filter(position__gt=start.position).filter(
        Q(sealed_at__gte=cutoff) | Q(record__recorded_at__gte=cutoff)
    )
    first_young = young.order_by("position").values_list("position", flat=True).first()
    last = head.position if first_young is None else first_young - 1
    return last if last > start.position else None


def _purge_through(last: int, *, requested_by: str, cutoff: datetime) -> PurgeRun:
    start = chain_start()
    anchor = AuditSeal.objects.get(position=last)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL audit.purge = 'on'")
        prefix = AuditSeal.objects.filter(position__gt=start.position, position__lte=last)
        record_ids = list(prefix.values_list("record_id", flat=True))
        prefix.delete()
        purged, _ = AuditRecord.objects.filter(pk__in=record_ids).delete()
        run = _record_run(
            requested_by, cutoff, PurgeOutcome.PURGED, "", purged=purged, anchor_position=last, anchor_hash=anchor.hash
        )
    checkpoints.write(kind="tombstone")
    return run


def _record_run(requested_by: str, cutoff: datetime, outcome: str, detail: str, **facts: Unpack[_RunFacts]) -> PurgeRun:
    run = PurgeRun(
        ran_at=timezone.now(), requested_by=requested_by, cutoff=cutoff, outcome=outcome, detail=detail[:300]
    )
    run.records_purged = facts.get("purged", 0)
    run.anchor_position = facts.get("anchor_position")
    run.anchor_hash = facts.get("anchor_hash", "")
    run.signature = chain.sign(purge_run_payload(run), purpose="purge-run")
    run.save(force_insert=True)
    return run
