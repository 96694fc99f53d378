"""Health systems wired to the sandbox EHR over real HTTP, for the connectivity tests."""

from ehr_integrations.models import HealthSystem
from tests import builders

SECRET = "sandbox-secret-for-tests"
SCOPES = [
    "system/Patient.rs",
    "system/Appointment.rs",
    "system/MedicationRequest.rs",
    "system/Medication.rs",
    "system/MedicationDispense.rs",
    "system/Communication.rs",
    "system/Practitioner.rs",
    "system/Location.rs",
]


def secret_system(sandbox, *, slug: str = "riverside", auth: str = "client_secret_basic", **fields) -> HealthSystem:
    """A health system using a client secret, registered with the sandbox."""
    fields.setdefault("scopes", " ".join(SCOPES))
    fields.setdefault("token_url", sandbox.token_url)
    system = builders.health_system(slug=slug, fhir_base_url=sandbox.fhir_url, auth_method=auth, **fields)
    connection = system.connection  # the instance the system holds, so system.connection has the secret too
    connection.set_client_secret(SECRET)
    connection.save()
    sandbox.register_client(connection.client_id, scopes=SCOPES, auth=auth, secret=SECRET)
    return system


def jwks_system(sandbox, live_server, *, slug: str = "riverside", **fields) -> HealthSystem:
    """A private_key_jwt health system whose keys the sandbox fetches from our live JWKS URL."""
    fields.setdefault("scopes", " ".join(SCOPES))
    fields.setdefault("token_url", sandbox.token_url)
    system = builders.health_system(slug=slug, fhir_base_url=sandbox.fhir_url, auth_method="private_key_jwt", **fields)
    jwks_url = f"{live_server.url}/jwks/{slug}.json"
    sandbox.register_client(f"gw-{slug}", scopes=SCOPES, auth="private_key_jwt", jwks_url=jwks_url)
    return system


def fhir_requests(sandbox, path_prefix: str = "/fhir/") -> list[dict]:
    return [r for r in sandbox.requests() if r["path"].startswith(path_prefix)]


def token_requests(sandbox) -> list[dict]:
    return [r for r in sandbox.requests() if r["path"] == "/oauth2/token"]
