import getpass
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.models import PurgeOutcome
from audit.retention import purge_expired


class Command(BaseCommand):
    help = "Purge PHI access records past retention (at least six years). Every run is recorded."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--before", help="ISO date; default: now minus AUDIT_RETENTION_YEARS.")

    def handle(self, *args: str, before: str | None = None, **options: object) -> None:
        cutoff = datetime.fromisoformat(before).replace(tzinfo=UTC) if before else None
        run = purge_expired(requested_by=f"command:{getpass.getuser()}", before=cutoff)
        if run.outcome == PurgeOutcome.REFUSED:
            raise CommandError(f"purge refused: {run.detail}")
        self.stdout.write(f"purge {run.outcome}: {run.records_purged} records")
