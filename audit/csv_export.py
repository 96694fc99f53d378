"""The PHI access log as CSV, streamed, with spreadsheet formula injection neutralized."""

import csv
from collections.abc import Iterable, Iterator

from audit.chain import CANONICAL_FIELDS
from audit.models import AuditRecord

HEADER = CANONICAL_FIELDS
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(records: Iterable[AuditRecord]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(HEADER)
    for record in records:
        yield writer.writerow([_cell(record, name) for name in HEADER])


def _cell(record: AuditRecord, name: str) -> str:
    value = getattr(record, name)
    if value is None:
        return ""
    if isinstance(value, list):
        value = " ".join(value)
    elif name == "recorded_at":
        value = value.isoformat(timespec="milliseconds")
    text = str(value)
    # OWASP CSV injection: a cell a spreadsheet would read as a formula is quoted as text.
    return "'" + text if text.startswith(_FORMULA_START) else text
