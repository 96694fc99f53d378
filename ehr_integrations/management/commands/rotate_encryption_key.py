from django.core.management.base import BaseCommand

from ehr_integrations.auth import signing_keys


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored client secret and private key under the newest FIELD_ENCRYPTION_KEYS key. "
        "Prepend the new key, run this, then drop the old key."
    )

    def handle(self, *args: str, **options: object) -> None:
        count = signing_keys.reencrypt_all()
        self.stdout.write(f"re-encrypted {count} stored secret(s) under the newest key")
