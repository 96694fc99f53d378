from django.core.management.base import BaseCommand, CommandError, CommandParser

from audit.sealing import seal_pending
from audit.verification import verify_audit_log


class Command(BaseCommand):
    help = "Verify the PHI access log's hash chain and digests; name the first altered, missing or reordered record."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-seal", action="store_true", help="Do not seal pending records first.")

    def handle(self, *args: str, no_seal: bool = False, **options: object) -> None:
        if not no_seal:
            seal_pending()
        report = verify_audit_log()
        if not report.intact:
            raise CommandError(f"audit log NOT intact after {report.checked} good records: {report.problem.describe()}")
        self.stdout.write(f"audit log intact: {report.checked} records verified, chain head at {report.head_position}")
