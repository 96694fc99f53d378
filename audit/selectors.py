"""Reads of the chain's ends (the newest seal, the anchor a retention purge left), its incidents and
the verification lockouts compliance is told of."""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Count, Q

from audit import chain
from audit.models import AuditRecord, AuditSeal, Outcome, PurgeOutcome, PurgeRun, SealVerdict

# Verification turns refused by a lockout or a spent budget (calls/verification/turns.py): issue 18
# asks for each to be a notice to compliance.
LOCKOUT_OUTCOMES = (Outcome.LOCKED, Outcome.BUDGET_SPENT)


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


@dataclass(frozen=True)
class Lockouts:
    locked: int
    budget_spent: int

    @property
    def total(self) -> int:
        return self.locked + self.budget_spent


def lockouts_since(since: datetime) -> Lockouts:
    """Lockouts and spent verification budgets recorded since `since`, in one query."""
    counts = AuditRecord.objects.filter(recorded_at__gte=since, outcome__in=LOCKOUT_OUTCOMES).aggregate(
        locked=Count("pk", filter=Q(outcome=Outcome.LOCKED)),
        budget_spent=Count("pk", filter=Q(outcome=Outcome.BUDGET_SPENT)),
    )
    return Lockouts(**counts)


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
