from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from calls.edges.api_keys import issue_key
from calls.models import AgentClient
from ehr_integrations.models import HealthSystem


class Command(BaseCommand):
    help = "Create (or reuse) an agent client allowed the given health systems and print a new API key once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--health-system", action="append", dest="slugs", required=True, metavar="SLUG")

    def handle(self, *args: object, name: str, slugs: list[str], **options: object) -> None:
        systems = list(HealthSystem.objects.filter(slug__in=slugs))
        missing = sorted(set(slugs) - {s.slug for s in systems})
        if missing:
            raise CommandError(f"unknown health system(s): {', '.join(missing)}")
        with transaction.atomic():
            client, _ = AgentClient.objects.get_or_create(name=name)
            client.health_systems.add(*systems)
            key = issue_key(agent_client=client, label="create_agent_client")
        self.stderr.write(f"API key for {name} (shown once, store it now):")
        self.stdout.write(key)
