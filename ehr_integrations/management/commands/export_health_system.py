from django.core.management.base import BaseCommand, CommandError, CommandParser

from ehr_integrations.models import HealthSystem
from ehr_integrations.setup.config_as_code import export_text


class Command(BaseCommand):
    help = "Print a health system's configuration as YAML (the apply format, without secrets)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")

    def handle(self, *args: str, slug: str, **options: object) -> None:
        try:
            self.stdout.write(export_text(slug), ending="")
        except HealthSystem.DoesNotExist:
            raise CommandError(f"no health system with slug {slug!r}") from None
