from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from compliance.agreements_as_code import export_text


class Command(BaseCommand):
    help = (
        "Print every business associate and BAA as YAML (the apply format); the signed documents are "
        "written into --documents DIR, which is where the printed file applies from."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--documents", type=Path, required=True, metavar="DIR")

    def handle(self, *args: str, documents: Path, **options: object) -> None:
        if not documents.is_dir():
            raise CommandError(f"{documents} is not a directory")
        self.stdout.write(export_text(documents_dir=documents), ending="")
