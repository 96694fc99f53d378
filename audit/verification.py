"""Verify the PHI access log: walk the chain from its start and name the first bad record or seal.

Finds records altered after sealing, records forged (or altered before sealing) whose MAC failed
when they were sealed, seals altered (their sealed_at or any other field) or forged without the
key, records or seals deleted, rows moved or swapped, records left unsealed, a chain cut short
of its newest signed checkpoint (truncated), and a wholly rewritten chain (checkpoints, digests).
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from audit import chain, checkpoints, digests, record_mac
from audit.models import AuditRecord, AuditSeal, PurgeOutcome, PurgeRun, SealVerdict
from audit.selectors import ChainStart, chain_start, purge_run_payload

CHUNK = 2000


@dataclass(frozen=True)
class Problem:
    # altered | missing | reordered | forged | truncated | unsealed | stale | checkpoint | digest | purge_run
    kind: str
    position: int | None
    record_id: int | None
    event_id: str | None
    detail: str
    target: str = ""  # "record" or "seal" when the problem is in one of them

    def describe(self) -> str:
        where = [f"{self.target} at position {self.position}" if self.position is not None and self.target else ""]
        where += [f"position {self.position}" if self.position is not None and not self.target else ""]
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
    """Check the purge anchors, the whole chain, records left unsealed, the checkpoints and digests."""
    start, anchors = chain_start(), checkpoints.read_for_verification()
    anchored = anchors.newest.head_position if anchors.newest else start.position
    problem = _check_purge_runs()
    checked, head, walk_problem = _walk_chain(start, anchored_through=anchored)
    problem = problem or walk_problem or _check_checkpoints(anchors, head, start)
    problem = problem or _check_unsealed() or _check_digests(head, start)
    return VerificationReport(checked=checked, head_position=head, problem=problem)


def _walk_chain(start: ChainStart, *, anchored_through: int) -> tuple[int, int, Problem | None]:
    expected, previous, checked = start.position + 1, start.hash, 0
    for seal, record in _seals_with_records(after=start.position):
        problem = _check_seal(seal, expected=expected, previous=previous, anchored_through=anchored_through)
        problem = problem or _check_record(seal, record)
        if problem:
            return checked, seal.position, problem
        expected, previous, checked = seal.position + 1, seal.hash, checked + 1
    return checked, expected - 1, None


def _check_seal(seal: AuditSeal, *, expected: int, previous: str, anchored_through: int) -> Problem | None:
    def problem(kind: str, detail: str) -> Problem:
        return Problem(kind, seal.position, seal.record_id, str(seal.event_id), detail, target="seal")

    if seal.position != expected:
        return Problem("missing", expected, None, None, f"seals {expected}..{seal.position - 1} are gone")
    if seal.previous_hash != previous:
        return problem("reordered", "chain link does not follow")
    if chain.seal_hash(seal) != seal.hash:
        if seal.position > anchored_through:
            return problem("forged", "seal was not made with the chain key (it is past the newest checkpoint)")
        return problem("altered", "seal differs from its MAC (sealed_at, verdict or another field changed)")
    return None


def _check_record(seal: AuditSeal, record: AuditRecord | None) -> Problem | None:
    def problem(kind: str, detail: str, *, event: object = seal.event_id) -> Problem:
        return Problem(kind, seal.position, seal.record_id, str(event), detail, target="record")

    if record is None:
        return problem("missing", "sealed record is gone")
    if record.event_id != seal.event_id:
        return problem("reordered", f"row now holds event {record.event_id}")
    if seal.verdict == SealVerdict.QUARANTINED:
        return problem("forged", "record's MAC was invalid when it was sealed (forged, or altered before sealing)")
    if chain.record_digest(record) != seal.record_digest or not record_mac.is_genuine(record):
        return problem("altered", "record differs from its seal and its MAC")
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
    for stray in AuditRecord.objects.filter(seal__isnull=True).order_by("id").iterator(CHUNK):
        event = str(stray.event_id)
        if not record_mac.is_genuine(stray):
            return Problem("forged", None, stray.pk, event, "unsealed record has no valid MAC", target="record")
        if stray.recorded_at < grace:
            return Problem("unsealed", None, stray.pk, event, "record was never sealed into the chain")
    return None


def _check_checkpoints(anchors: checkpoints.Found, head: int, start: ChainStart) -> Problem | None:
    if anchors.not_genuine:
        return Problem("checkpoint", None, None, None, f"not a genuine checkpoint: {anchors.not_genuine[0]}")
    if anchors.newest is None:
        if head > start.position:
            return Problem("checkpoint", head, None, None, "no checkpoint found for a chain that has seals")
        return None
    newest = anchors.newest
    if newest.head_position > head:
        return Problem(
            "truncated",
            head + 1,
            None,
            None,
            f"{newest.describe()} saw the chain reach position {newest.head_position} (record id "
            f"{newest.last_id}); seals {head + 1}..{newest.head_position} are gone",
        )
    if newest.head_position >= start.position and newest.start_position != start.position:
        detail = f"chain starts after {start.position}, {newest.describe()} after {newest.start_position}"
        return Problem("truncated", start.position + 1, None, None, detail)
    return _check_anchored_hashes([*anchors.hourly, newest], start) or _check_stale(newest)


def _check_anchored_hashes(found: list[checkpoints.Checkpoint], start: ChainStart) -> Problem | None:
    wanted = sorted({c.head_position for c in found if c.head_position > start.position})
    seals: dict[int, tuple[str, int]] = {}
    for i in range(0, len(wanted), CHUNK):
        chunk = AuditSeal.objects.filter(position__in=wanted[i : i + CHUNK])
        seals.update((p, (h, r)) for p, h, r in chunk.values_list("position", "hash", "record_id"))
    for checkpoint in sorted(found, key=lambda c: c.head_position):
        if checkpoint.head_position <= start.position:
            continue
        if seals.get(checkpoint.head_position) != (checkpoint.head_hash, checkpoint.last_id):
            detail = f"chain differs from {checkpoint.describe()}"
            return Problem("altered", checkpoint.head_position, checkpoint.last_id, None, detail, target="seal")
    return None


def _check_stale(newest: checkpoints.Checkpoint) -> Problem | None:
    # Past two checkpoint intervals without one, records written since are not anchored: say so.
    limit = timezone.now() - 2 * timedelta(seconds=settings.AUDIT_CHECKPOINT_EVERY_S)
    if newest.time >= limit or not AuditRecord.objects.filter(recorded_at__gt=newest.time).exists():
        return None
    return Problem("stale", None, None, None, f"no checkpoint since {newest.describe()}: is the sealer running?")


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
