"""What the compliance dashboard counts in the PHI access log: accesses per day by outcome, failed
and locked verifications per day, and the two unusual patterns of issue 23 (both settings):

- an agent client reading more than UNUSUAL_DISTINCT_PATIENTS_PER_HOUR distinct patients in one hour;
- a health system's accesses between UNUSUAL_AFTER_HOURS_START and _END o'clock, site time, on the
  last night, above UNUSUAL_AFTER_HOURS_FACTOR times the average of the seven nights before.

Staff reviews of the log (agent_client "staff:...") are not agent accesses and are left out.
"""

import datetime
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import ExtractHour, TruncDate, TruncHour

from audit.models import AuditRecord, Outcome

# Accesses by outcome, in three groups a chart can show (the log's own outcomes are finer).
OUTCOME_GROUPS = {
    "Answered": (Outcome.SUCCESS, Outcome.WRITE_CONFIRMED, Outcome.WRITE_REQUESTED),
    "Refused": (Outcome.DENIED, Outcome.NOT_PERMITTED, Outcome.WRONG_DETAILS, Outcome.LOCKED, Outcome.BUDGET_SPENT),
    "Failed": (Outcome.FAILED, Outcome.UNAVAILABLE, Outcome.EHR_UNAVAILABLE, Outcome.WRITE_FAILED, Outcome.ESCALATED),
}
VERIFICATION_FAILURES = {"Wrong details": (Outcome.WRONG_DETAILS,), "Locked": (Outcome.LOCKED, Outcome.BUDGET_SPENT)}
TRAILING_NIGHTS = 7


@dataclass(frozen=True)
class Series:
    """A chart: one label per day, one list of counts per group."""

    labels: list[str]
    groups: dict[str, list[int]]

    def chart(self) -> dict:
        return {"labels": self.labels, "datasets": [{"label": k, "data": v} for k, v in self.groups.items()]}


@dataclass(frozen=True)
class BusyHour:
    agent_client: str
    hour: datetime.datetime
    patients: int


@dataclass(frozen=True)
class AfterHoursSpike:
    health_system: str
    last_night: int
    trailing_average: float


def agent_accesses() -> QuerySet[AuditRecord]:
    return AuditRecord.objects.exclude(agent_client__startswith="staff:")


def _days(today: datetime.date, days: int) -> list[datetime.date]:
    return [today - datetime.timedelta(days=n) for n in range(days - 1, -1, -1)]


def _per_day(records: QuerySet[AuditRecord], groups: dict, *, today: datetime.date, days: int) -> Series:
    span = _days(today, days)
    since = datetime.datetime.combine(span[0], datetime.time(), tzinfo=datetime.UTC)
    rows = (
        records.filter(recorded_at__gte=since)
        .annotate(day=TruncDate("recorded_at", tzinfo=datetime.UTC))
        .values("day", "outcome")
        .annotate(n=Count("pk"))
    )
    counts = {(row["day"], row["outcome"]): row["n"] for row in rows}
    return Series(
        labels=[f"{day:%m-%d}" for day in span],
        groups={
            name: [sum(counts.get((d, o), 0) for o in outcomes) for d in span] for name, outcomes in groups.items()
        },
    )


def accesses_per_day(*, today: datetime.date, days: int = 14) -> Series:
    """Agent accesses of every kind per UTC day, grouped by outcome."""
    return _per_day(agent_accesses(), OUTCOME_GROUPS, today=today, days=days)


def verification_failures_per_day(*, today: datetime.date, days: int = 14) -> Series:
    """Failed (wrong details) and locked (lockout or spent budget) verification turns per UTC day."""
    return _per_day(agent_accesses().filter(action="verify"), VERIFICATION_FAILURES, today=today, days=days)


def busy_hours(*, since: datetime.datetime) -> list[BusyHour]:
    """Agent client and clock hour where more distinct patients were read than the setting allows."""
    limit = settings.UNUSUAL_DISTINCT_PATIENTS_PER_HOUR
    rows = (
        agent_accesses()
        .filter(recorded_at__gte=since, patient_reference__isnull=False)
        .exclude(action="verify")
        .annotate(hour=TruncHour("recorded_at", tzinfo=datetime.UTC))
        .values("agent_client", "hour")
        .annotate(patients=Count("patient_reference", distinct=True))
        .filter(patients__gt=limit)
        .order_by("-hour")
    )
    return [BusyHour(r["agent_client"], r["hour"], r["patients"]) for r in rows]


def _after_hours(moment: datetime.datetime, zone: ZoneInfo) -> datetime.date | None:
    """The night (the date it began) an instant falls in, site time; None in working hours."""
    local = moment.astimezone(zone)
    start, end = settings.UNUSUAL_AFTER_HOURS_START, settings.UNUSUAL_AFTER_HOURS_END
    if start < end:  # a night that does not cross midnight
        return local.date() if start <= local.hour < end else None
    if local.hour >= start:
        return local.date()
    if local.hour < end:
        return local.date() - datetime.timedelta(days=1)
    return None


def _nights(records: QuerySet[AuditRecord], zone: ZoneInfo) -> dict[datetime.date, int]:
    """After-hours accesses per night (the date it began, site time), counted in the database."""
    start, end = settings.UNUSUAL_AFTER_HOURS_START, settings.UNUSUAL_AFTER_HOURS_END
    local = records.annotate(hour=ExtractHour("recorded_at", tzinfo=zone), day=TruncDate("recorded_at", tzinfo=zone))
    # (hours, days to step back to the night's first date): evening, and after midnight when it wraps.
    parts = [(Q(hour__gte=start, hour__lt=end), 0)] if start < end else [(Q(hour__gte=start), 0), (Q(hour__lt=end), 1)]
    nights: dict[datetime.date, int] = {}
    for hours, back in parts:
        for row in local.filter(hours).values("day").annotate(n=Count("pk")):
            night = row["day"] - datetime.timedelta(days=back)
            nights[night] = nights.get(night, 0) + row["n"]
    return nights


def after_hours_spikes(*, time_zones: dict[str, str], now: datetime.datetime) -> list[AfterHoursSpike]:
    """Health systems (slug -> IANA zone) whose last night had more than FACTOR x the trailing nights' mean."""
    spikes = []
    for slug, zone_name in sorted(time_zones.items()):
        zone = ZoneInfo(zone_name)
        last_night = _after_hours(now, zone) or now.astimezone(zone).date() - datetime.timedelta(days=1)
        first = last_night - datetime.timedelta(days=TRAILING_NIGHTS)
        since = datetime.datetime.combine(first, datetime.time(settings.UNUSUAL_AFTER_HOURS_START), tzinfo=zone)
        nights = _nights(agent_accesses().filter(health_system=slug, recorded_at__gte=since), zone)
        latest = nights.get(last_night, 0)
        average = (
            sum(nights.get(first + datetime.timedelta(days=n), 0) for n in range(TRAILING_NIGHTS)) / TRAILING_NIGHTS
        )
        if latest and latest > settings.UNUSUAL_AFTER_HOURS_FACTOR * average:
            spikes.append(AfterHoursSpike(slug, latest, round(average, 1)))
    return spikes
