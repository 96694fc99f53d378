from pathlib import Path

from compliance.management.apply_file import ApplyFileCommand
from ehr_integrations.setup.config_as_code import apply_text


class Command(ApplyFileCommand):
    help = "Create or update a health system from a YAML file (idempotent; all or nothing)."

    def apply(self, text: str, file: Path) -> list[str]:
        result = apply_text(text)
        if result.created:
            return [f"created health system {result.slug}"]
        if result.changed:
            return [f"updated {result.slug}: {', '.join(result.changed)}"]
        return [f"{result.slug} is already up to date"]
