from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ehr_integrations.setup.config_as_code import apply_text
from ehr_integrations.setup.yaml_lines import YamlError


class Command(BaseCommand):
    help = "Create or update a health system from a YAML file (idempotent; all or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args: str, file: Path, **options: object) -> None:
        try:
            text = file.read_text()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from None
        try:
            result = apply_text(text)
        except YamlError as exc:
            raise CommandError(f"{file}: {exc} (nothing was applied)") from None
        if result.created:
            self.stdout.write(f"created health system {result.slug}")
        elif result.changed:
            self.stdout.write(f"updated {result.slug}: {', '.join(result.changed)}")
        else:
            self.stdout.write(f"{result.slug} is already up to date")
