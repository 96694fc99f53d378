from django.core.management.base import BaseCommand, CommandError, CommandParser

from ehr_integrations.auth import signing_keys
from ehr_integrations.models import HealthSystem


class Command(BaseCommand):
    help = (
        "Start a signing-key rotation: publish a new key now; assertions switch to it after the grace period "
        "(SIGNING_KEY_GRACE_S, or --grace), and the old key is retired after SIGNING_KEY_RETIRE_AFTER_S."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slugs", nargs="*", help="health systems (default: all)")
        parser.add_argument("--grace", type=float, default=None, help="seconds before the new key signs")

    def handle(self, *args: str, slugs: list[str], grace: float | None, **options: object) -> None:
        systems = HealthSystem.objects.filter(slug__in=slugs) if slugs else HealthSystem.objects.all()
        if slugs and len(systems) != len(set(slugs)):
            raise CommandError("unknown health system slug(s)")
        for system in systems:
            key = signing_keys.start_rotation(system, grace_s=grace)
            self.stdout.write(
                f"{system.slug}: published {key.kid}, signs after {key.activate_after:%Y-%m-%d %H:%M:%S %Z}"
            )
