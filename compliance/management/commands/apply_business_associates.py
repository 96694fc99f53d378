from pathlib import Path

from compliance.agreements_as_code import apply_text
from compliance.management.apply_file import ApplyFileCommand


class Command(ApplyFileCommand):
    help = (
        "Create or update business associates and their BAAs from a YAML file (idempotent; all or nothing). "
        "Document paths are relative to the file."
    )

    def apply(self, text: str, file: Path) -> list[str]:
        result = apply_text(text, base_dir=file.resolve().parent)
        return [f"applied {change}" for change in result.changed] or ["business associates are already up to date"]
