"""The shape of an `apply_*` command: read one YAML file, apply it all or nothing, report what changed."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from compliance.yaml_lines import YamlError


class ApplyFileCommand(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def apply(self, text: str, file: Path) -> list[str]:
        """Apply the file's text; the lines to print. Raises YamlError."""
        raise NotImplementedError

    def handle(self, *args: str, file: Path, **options: object) -> None:
        try:
            text = file.read_text()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from None
        try:
            report = self.apply(text, file)
        except YamlError as exc:
            raise CommandError(f"{file}: {exc} (nothing was applied)") from None
        for line in report:
            self.stdout.write(line)
