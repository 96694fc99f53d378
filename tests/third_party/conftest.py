"""A FHIR R4 server written by others, on loopback: Medplum's FhirRouter and in-memory repository
(tests/third_party/medplum/server.mjs, pinned in its package-lock.json, installed by `make install`).

The server is started once per session and loaded over its own REST API (a PUT per resource of
population.py). Without its node modules the tests skip, except in CI (CI=true), where they fail:
there `make install` must have put them in place.
"""

import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from rest_framework.test import APIClient

from calls.session import baa_gate
from ehr_integrations.models import VerificationPolicy
from tests import builders
from tests.third_party import population

MEDPLUM_DIR = Path(__file__).resolve().parent / "medplum"
READY_PREFIX = "medplum listening on "
START_TIMEOUT_S = 30
NAMES_AND_BIRTH_DATE = ["date_of_birth", "family_name", "given_name"]
MRN_AND_BIRTH_DATE = ["date_of_birth", "mrn"]


@dataclass
class MedplumServer:
    fhir_url: str
    now: datetime  # the moment population.resources() was made from
    process: subprocess.Popen

    def requests(self) -> list[dict]:
        """What the server was asked since it started: method, path, query string, form body."""
        return httpx.get(self.fhir_url.removesuffix("/fhir") + "/_log", timeout=5).json()


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI runs the third-party tests: `make install` installs them)")
    pytest.skip(f"{reason}: run `make install` (npm ci in tests/third_party/medplum)")


def _ready_line(process: subprocess.Popen) -> str:
    """The server's first line of output, or '' when it printed none within START_TIMEOUT_S."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(START_TIMEOUT_S)
    return lines[0].strip() if lines else ""


def _load(fhir_url: str, resources: list[dict]) -> None:
    with httpx.Client(base_url=fhir_url, timeout=10) as http:
        for resource in resources:
            response = http.put(f"/{resource['resourceType']}/{resource['id']}", json=resource,
                                headers={"Content-Type": "application/fhir+json"})  # fmt: skip
            assert response.status_code in (200, 201), (resource["id"], response.status_code, response.text)


@pytest.fixture(scope="session")
def medplum():
    node = shutil.which("node")
    if node is None:
        _unavailable("node is not installed")
    if not (MEDPLUM_DIR / "node_modules" / "@medplum" / "fhir-router").is_dir():
        _unavailable("tests/third_party/medplum/node_modules is missing")
    process = subprocess.Popen([node, "server.mjs"], cwd=MEDPLUM_DIR, stdout=subprocess.PIPE, text=True)
    try:
        line = _ready_line(process)
        if not line.startswith(READY_PREFIX):
            pytest.fail(f"the Medplum server did not start: {line!r}")
        server = MedplumServer(line.removeprefix(READY_PREFIX), datetime.now(UTC).replace(microsecond=0), process)
        _load(server.fhir_url, population.resources(server.now))
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(autouse=True)
def _forget_baa_coverage():
    baa_gate._covered.clear()


@pytest.fixture
def site(db, medplum):
    """A generic-vendor health system wired to the Medplum server: no auth (loopback), both factor sets."""
    system = builders.health_system(slug="riverside", vendor="generic", fhir_base_url=medplum.fhir_url,
                                    auth_method="none", token_url="", read_timeout_s=3, request_deadline_s=4,
                                    max_retries=0)  # fmt: skip
    # As tests/calls/test_any_fhir_server.py does: DOB + names is a set of its own here (the model's
    # validation wants a second factor; an update does not run it).
    VerificationPolicy.objects.filter(health_system=system).update(
        factor_sets=[NAMES_AND_BIRTH_DATE, MRN_AND_BIRTH_DATE]
    )
    return system


@pytest.fixture
def api(site) -> APIClient:
    agent = builders.agent_client("Acme Voice", site)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {agent.api_key}")
    return client
