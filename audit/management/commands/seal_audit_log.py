from django.core.management.base import BaseCommand, CommandParser

from audit.sealing import seal_pending


class Command(BaseCommand):
    help = "Seal pending PHI access records into the hash chain."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--full-sweep", action="store_true", help="Look for unsealed records of any age.")

    def handle(self, *args: str, full_sweep: bool = False, **options: object) -> None:
        self.stdout.write(f"sealed {seal_pending(full_sweep=full_sweep)} records")
