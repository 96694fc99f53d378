"""Only edges touch HTTP: services get plain values and an AuditContext, never a request."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("calls", "ehr_integrations", "audit", "compliance")
# The edges: the agent API's adapters, the admin, the JWKS view, the sandbox EHR (a server of its own).
EDGES = ("calls/edges/", "calls/admin.py", "ehr_integrations/admin/", "ehr_integrations/views.py",
         "ehr_integrations/sandbox/", "audit/admin", "compliance/admin",
         "compliance/error_reports.py")  # Django's error reporter filter: it is handed the request  # fmt: skip
TOUCHES_HTTP = re.compile(r"rest_framework\.request|\.META\b|django\.http\.request|HttpRequest\b")


def test_no_service_imports_a_request_or_reads_its_meta() -> None:
    offenders = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if relative.startswith(EDGES) or "/migrations/" in relative:
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                if TOUCHES_HTTP.search(line):
                    offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []
