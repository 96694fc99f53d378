from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from calls.edges.api_keys import issue_key
from calls.models import AgentClient
from compliance.models import BusinessAssociate
from ehr_integrations.models import HealthSystem


class Command(BaseCommand):
    help = (
        "Create (or reuse) an agent client allowed the given health systems, acting for a business "
        "associate, and print a new API key once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--health-system", action="append", dest="slugs", required=True, metavar="SLUG")
        parser.add_argument(
            "--business-associate",
            metavar="NAME",
            help="the business associate (by name) whose BAA must cover each health system; "
            "an existing client keeps its own when this is left out",
        )

    def handle(
        self, *args: object, name: str, slugs: list[str], business_associate: str | None, **options: object
    ) -> None:
        systems = list(HealthSystem.objects.filter(slug__in=slugs))
        missing = sorted(set(slugs) - {s.slug for s in systems})
        if missing:
            raise CommandError(f"unknown health system(s): {', '.join(missing)}")
        associate = None
        if business_associate is not None:
            associate = BusinessAssociate.objects.filter(name=business_associate).first()
            if associate is None:
                raise CommandError(
                    f"unknown business associate {business_associate!r}: add it with apply_business_associates "
                    "or in the admin first"
                )
        with transaction.atomic():
            client, _ = AgentClient.objects.get_or_create(name=name)
            if associate is not None and client.business_associate_id != associate.pk:
                client.business_associate = associate
                client.save(update_fields=["business_associate"])
            client.health_systems.add(*systems)
            key = issue_key(agent_client=client, label="create_agent_client")
        self.stderr.write(f"API key for {name} (shown once, store it now):")
        if client.business_associate_id is None:
            self.stderr.write(
                "warning: this agent client has no business associate, so it cannot open calls "
                "(--business-associate NAME)"
            )
        self.stdout.write(key)
