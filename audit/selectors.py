"""Reads of the chain's ends (the newest seal, the anchor a retention purge left) and its incidents."""

from dataclasses import dataclass
from datetime import UTC

from audit import chain
from audit.models import AuditSeal, PurgeOutcome, PurgeRun, SealVerdict


@dataclass(frozen=True)
class ChainStart:
    """Where verification and sealing begin: genesis, or just after the last purged position."""

    position: int
    hash: str


def chain_head() -> AuditSeal | None:
    return AuditSeal.objects.order_by("-position").first()


def incident_count() -> int:
    """Records the sealer quarantined (their MAC failed): the admin's incident notice."""
    return AuditSeal.objects.filter(verdict=SealVerdict.QUARANTINED).count()


def chain_start() -> ChainStart:
    run = PurgeRun.objects.filter(outcome=PurgeOutcome.PURGED).order_by("-anchor_position").first()
    if run is None:
        return ChainStart(position=0, hash=chain.GENESIS)
    return ChainStart(position=run.anchor_position, hash=run.anchor_hash)


def purge_run_payload(run: PurgeRun) -> str:
    return "|".join(
        str(v)
        for v in (
            run.ran_at.astimezone(UTC).isoformat(),
            run.requested_by,
            run.cutoff.astimezone(UTC).isoformat(),
            run.outcome,
            run.records_purged,
            run.anchor_position,
            run.anchor_hash,
        )
    )
