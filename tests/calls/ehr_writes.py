"""What the write tests share: a site that may write, and what the sandbox EHR received and holds."""

from ehr_integrations.models import EHRConnection
from ehr_integrations.setup.connection_check import record_statement
from tests.calls.conftest import SCOPES, SECRET

WRITE_SCOPES = [*SCOPES, "system/Task.read", "system/Task.write", "system/Communication.write"]


def make_writable(site, sandbox, scopes: list[str] = WRITE_SCOPES) -> None:
    """Grant the write scopes and record the CapabilityStatement (as Test connection does)."""
    connection = EHRConnection.objects.get(health_system=site)
    sandbox.register_client(connection.client_id, scopes=scopes, auth="client_secret_basic", secret=SECRET)
    EHRConnection.objects.filter(pk=connection.pk).update(scopes=" ".join(scopes))
    record_statement(site, sandbox.fhir_get("metadata"))


def set_writes(site, sandbox, **strict: str) -> None:
    """Change what the sandbox accepts (strict options `writes`, `conditional_create`) and re-record it."""
    sandbox.set_strict(**strict)
    record_statement(site, sandbox.fhir_get("metadata"))


def set_write_settings(site, value: dict) -> None:
    """The site's `writes` settings, saved as the admin and the YAML do (so cached copies are dropped)."""
    site.write_settings = value
    site.save()


def written(sandbox) -> list[dict]:
    """Every Task and Communication the sandbox holds."""
    held = sandbox._control("GET", "writes")
    return held["Task"] + held["Communication"]


def creates(sandbox, after: int = 0) -> list[dict]:
    """The creates the EHR received (searches, $match and token requests are POSTs too)."""
    return [
        e
        for e in sandbox.requests(after=after)
        if e["method"] == "POST" and e["path"].startswith("/fhir/") and not e["path"].endswith(("_search", "$match"))
    ]
