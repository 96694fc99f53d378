"""Verify the PHI access log: walk the chain from its start and name the first bad record.

Finds records altered after sealing, records or seals deleted, rows moved or swapped, seals
forged without the key, records left unsealed, and (with the exported digests) a truncated or
wholly rewritten chain.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from audit import chain, digests
from audit.models import AuditRecord, AuditSeal, PurgeOutcome, PurgeRun
from audit.selectors import ChainStart, chain_start, purge_run_payload

CHUNK = 2000


@dataclass(frozen=True)
class Problem:
    kind: str  # altered | missing | reordered | unsealed | digest | purge_run
    position: int | None
    record_id: int | None
    event_id: str | None
    detail: str

    def describe(self) -> str:
        where = [f"position {self.position}" if self.position is not None else ""]
        where += [f"record id {self.record_id}" if self.record_id is not None else ""]
        where += [f"event {self.event_id}" if self.event_id else ""]
        return f"{self.kind}: {', '.join(w for w in where if w)}: {self.detail}"


@dataclass(frozen=True)
class VerificationReport:
    checked: int
    head_position: int
    problem: Problem | None

    @property
    def intact(self) -> bool:
        return self.problem is None


def verify_audit_log() -> VerificationReport:
    """Check the purge anchors, the whole chain, records left unsealed, and the exported digests."""
    start = chain_start()
    problem = _check_purge_runs()
    checked, head, walk_problem = _walk_chain(start)
    problem = problem or walk_problem or _check_unsealed() or _check_digests(head, start)
    return VerificationReport(checked=checked, head_position=head, problem=problem)


def _walk_chain(start: ChainStart) -> tuple[int, int, Problem | None]:
    expected, previous, checked = start.position + 1, start.hash, 0
    for seal, record in _seals_with_records(after=start.position):
        problem = _check_link(seal, record, expected=expected, previous=previous)
        if problem:
            return checked, seal.position, problem
        expected, previous, checked = seal.position + 1, seal.hash, checked + 1
    return checked, expected - 1, None


def _check_link(seal: AuditSeal, record: AuditRecord | None, *, expected: int, previous: str) -> Problem | None:
    if seal.position != expected:
        return Problem("missing", expected, None, None, f"seals {expected}..{seal.position - 1} are gone")
    if seal.previous_hash != previous:
        return Problem("reordered", seal.position, seal.record_id, str(seal.event_id), "chain link does not follow")
    if record is None:
        return Problem("missing", seal.position, seal.record_id, str(seal.event_id), "sealed record is gone")
    if record.event_id != seal.event_id:
        return Problem(
            "reordered", seal.position, record.pk, str(seal.event_id), f"row now holds event {record.event_id}"
        )
    if chain.link(position=seal.position, previous_hash=previous, record=record) != seal.hash:
        return Problem("altered", seal.position, record.pk, str(record.event_id), "record differs from its seal")
    return None


def _seals_with_records(*, after: int) -> Iterator[tuple[AuditSeal, AuditRecord | None]]:
    # Records fetched apart from their seals: a join would silently drop seals whose record is gone.
    cursor = after
    while True:
        seals = list(AuditSeal.objects.filter(position__gt=cursor).order_by("position")[:CHUNK])
        if not seals:
            return
        records = AuditRecord.objects.in_bulk([s.record_id for s in seals])
        for seal in seals:
            yield seal, records.get(seal.record_id)
        cursor = seals[-1].position


def _check_purge_runs() -> Problem | None:
    for run in PurgeRun.objects.filter(outcome=PurgeOutcome.PURGED).order_by("anchor_position"):
        if not chain.signature_matches(purge_run_payload(run), run.signature, purpose="purge-run"):
            return Problem("purge_run", run.anchor_position, None, None, f"purge run {run.pk} is not genuine")
    return None


def _check_unsealed() -> Problem | None:
    grace = timezone.now() - timedelta(seconds=settings.AUDIT_SEAL_GRACE_S)
    stray = AuditRecord.objects.filter(seal__isnull=True, recorded_at__lt=grace).order_by("id").first()
    if stray is None:
        return None
    return Problem("unsealed", None, stray.pk, str(stray.event_id), "record was never sealed into the chain")


def _check_digests(head: int, start: ChainStart) -> Problem | None:
    found = digests.read_all()
    wanted = [d.position for d in found if d.genuine and start.position < d.position <= head]
    hashes = {}
    for i in range(0, len(wanted), CHUNK):
        chunk = AuditSeal.objects.filter(position__in=wanted[i : i + CHUNK])
        hashes.update(chunk.values_list("position", "hash"))
    for digest in found:
        if not digest.genuine:
            return Problem("digest", digest.position, None, None, f"digest {digest.name} signature is invalid")
        if digest.position <= start.position:
            continue
        if digest.position > head:
            return Problem(
                "missing", head + 1, None, None, f"digest {digest.name} saw the chain reach {digest.position}"
            )
        if hashes.get(digest.position) != digest.hash:
            return Problem("altered", digest.position, None, None, f"chain differs from digest {digest.name}")
    return None
