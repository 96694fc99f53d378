from django.core.management.base import BaseCommand

from audit.checkpoints import public_key_text


class Command(BaseCommand):
    help = "Print the public key (base64, Ed25519) that verifies the audit checkpoints: give it to auditors."

    def handle(self, *args: str, **options: object) -> None:
        self.stdout.write(public_key_text())
