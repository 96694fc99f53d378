"""Fault drills: the gateway as a real uvicorn process, against the sandbox EHR, a private Redis,
and the test database reached through a proxy the drill can cut.

Each drill builds committed data (transactional_db), so the gateway process sees it.
"""

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from ehr_integrations.models import EHRConnection
from ehr_integrations.sandbox import hard_cases
from tests import builders
from tests.calls.conftest import wire_to_sandbox
from tests.faults.tcp_proxy import TcpProxy
from tests.fixtures.processes import GatewayProcess, PrivateRedis, free_port, wait_until

PHI_FIELDS = ("given", "family", "birth_date", "mrn", "phone", "ssn_last4")
FAST_TIMEOUTS = {"connect_timeout_s": 1.0, "read_timeout_s": 1.0, "request_deadline_s": 1.5, "max_retries": 0}


@pytest.fixture(scope="session")
def private_redis():
    server = PrivateRedis.start()
    yield server
    server.kill()


@pytest.fixture(scope="session")
def database_proxy(django_db_setup):
    db = settings.DATABASES["default"]
    proxy = TcpProxy((db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432))).start()
    yield proxy
    proxy.cut()


@dataclass
class DrillGateway:
    """The gateway process under drill; `restart()` after a drill killed it."""

    database_url: str
    redis: PrivateRedis
    log: Path
    port: int = field(default_factory=free_port)  # the same after a restart: the agent's URL does not change
    process: GatewayProcess | None = field(default=None)

    def start(self) -> GatewayProcess:
        secrets = {
            "SECRET_KEY": settings.SECRET_KEY,
            "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
            "AUDIT_HMAC_KEY": settings.AUDIT_HMAC_KEY,
            "AUDIT_RECORD_KEY": ",".join(settings.AUDIT_RECORD_KEY),
            "AUDIT_CHECKPOINT_KEY": settings.AUDIT_CHECKPOINT_KEY,
            "CACHE_KEY_PREFIX": "drill",
            "DATABASE_POOL_TIMEOUT_S": "1",  # a dead database answers within a second, not ten
        }
        self.process = GatewayProcess.start(
            database_url=self.database_url,
            redis_url=self.redis.url(0),
            secrets=secrets,
            workers=1,
            port=self.port,
            extra_env={"LOG_LEVEL": "INFO"},
            log_path=self.log,
        )
        return self.process

    def alive(self) -> GatewayProcess:
        if self.process is None or self.process.process.poll() is not None:
            self.start()
        return self.process


@pytest.fixture(scope="session")
def drill_gateway(django_db_setup, private_redis, database_proxy, tmp_path_factory):
    db = settings.DATABASES["default"]
    url = f"postgres://{db['USER']}@127.0.0.1:{database_proxy.port}/{db['NAME']}"
    drill = DrillGateway(database_url=url, redis=private_redis, log=tmp_path_factory.mktemp("gateway") / "gateway.log")
    yield drill
    if drill.process:
        drill.process.stop()


@pytest.fixture
def gateway(drill_gateway, private_redis, database_proxy, transactional_db) -> GatewayProcess:
    """A running gateway with an empty Redis and a reachable database."""
    database_proxy.restore()
    if private_redis.process.poll() is not None:
        private_redis.restart()
    private_redis.client().flushall()
    process = drill_gateway.alive()
    wait_ready(process)  # a drill before may have left the database pool reconnecting
    return process


def wait_ready(process: GatewayProcess, timeout: float = 15.0) -> float:
    """Wait until /readyz answers 200; the seconds it took."""
    started = time.monotonic()

    def ready() -> bool:
        try:
            return httpx.get(process.base_url + "/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ready, timeout=timeout, what="the gateway's /readyz", every=0.1)
    return time.monotonic() - started


@dataclass(frozen=True)
class Site:
    api: httpx.Client
    patient: dict
    connection: EHRConnection


@pytest.fixture
def site(gateway, sandbox) -> Site:
    """Riverside wired to the sandbox with short timeouts, an agent client, an ordinary patient."""
    system = builders.health_system(slug="riverside", vendor=sandbox.flavour, fhir_base_url=sandbox.fhir_url)
    wire_to_sandbox(system, sandbox, client_id="gw-riverside")
    EHRConnection.objects.filter(health_system=system).update(**FAST_TIMEOUTS)
    agent = builders.agent_client("Acme Voice", system)
    hard = hard_cases.ids_in(sandbox.hard_cases())
    patient = next(p for p in sandbox.patients() if p["id"] not in hard and p["ssn_last4"] and p["phone"])
    api = httpx.Client(base_url=gateway.base_url, headers={"Authorization": f"Api-Key {agent.api_key}"}, timeout=30)
    yield Site(api=api, patient=patient, connection=EHRConnection.objects.get(health_system=system))
    api.close()


def assert_no_phi(text: str, patient: dict, fields: tuple[str, ...] = PHI_FIELDS) -> None:
    """None of the caller's identifying facts appear in `text` (an answer body or a log)."""
    for name in fields:
        value = str(patient.get(name) or "")
        if len(value) >= 4:
            assert not re.search(rf"\b{re.escape(value)}\b", text, re.IGNORECASE), f"the caller's {name} leaked"


def assert_no_phi_in_log(gateway_log: Path, patient: dict) -> None:
    # Log lines start with a timestamp, so a 4-digit SSN fragment could match a year: names, dates, MRN only.
    assert_no_phi(gateway_log.read_text(errors="replace"), patient, ("given", "family", "birth_date", "mrn", "phone"))
