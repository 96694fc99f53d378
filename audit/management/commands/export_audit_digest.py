from django.core.management.base import BaseCommand

from audit.digests import export_digest


class Command(BaseCommand):
    help = "Seal pending records and export a signed digest of the chain head to AUDIT_DIGEST_DIR."

    def handle(self, *args: str, **options: object) -> None:
        path = export_digest()
        self.stdout.write(f"digest written: {path}" if path else "no records yet: nothing to digest")
