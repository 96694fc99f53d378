"""The bench's world: a health system wired to the sandbox EHR, an agent client, and the callers.

Runs Django in the bench process against the bench's own database, with the same secrets the gateway
processes get, so the client secret it encrypts is one they can decrypt.
"""

import base64
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import django

from ehr_integrations.sandbox import hard_cases

SCOPES = (
    "system/Patient.read system/Appointment.read system/MedicationRequest.read system/Medication.read "
    "system/MedicationDispense.read system/Communication.read system/Practitioner.read system/Location.read"
)
SLUG = "bench"
GATEWAY_CLIENT = f"gw-{SLUG}"  # the client id tests.builders gives a health system
# Probes during the load use a health system of their own, wired to the same sandbox under its own
# EHR client id, so their EHR requests can be told apart in the sandbox's log.
PROBE_SLUG = "bench-probe"
PROBE_CLIENT = f"gw-{PROBE_SLUG}"
BASELINE_CLIENT = "direct-fhir-agent"


@dataclass(frozen=True)
class World:
    slug: str
    api_key: str = field(repr=False)
    gateway_client_id: str
    probe_slug: str
    probe_client_id: str
    baseline_client_id: str
    baseline_secret: str = field(repr=False)
    callers: list[dict] = field(repr=False)


def new_secrets() -> dict[str, str]:
    from cryptography.fernet import Fernet

    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "AUDIT_HMAC_KEY": secrets.token_urlsafe(32),
        "AUDIT_RECORD_KEY": secrets.token_urlsafe(32),
        "AUDIT_CHECKPOINT_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }


def setup_django(*, database_url: str, redis_url: str, key_prefix: str, gateway_secrets: dict[str, str]) -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CACHE_KEY_PREFIX=key_prefix,
        EHR_ALLOWED_NETWORKS="127.0.0.0/8",  # the sandbox EHR on loopback (production: empty)
        LOG_LEVEL="WARNING",
        **gateway_secrets,
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


@dataclass(frozen=True)
class Services:
    """A private PostgreSQL and Redis with Django set up on them, and the secrets the gateway gets."""

    postgres: object
    redis: object
    database_url: str
    secrets: dict[str, str] = field(repr=False)

    @property
    def redis_url(self) -> str:
        return self.redis.url(0)


@contextmanager
def private_services(
    database: str, *, key_prefix: str, max_connections: int = 600, postgres_options: str = ""
) -> Iterator[Services]:
    """Start the bench's own PostgreSQL and Redis, migrate `database`, stop both at the end."""
    from bench.private_postgres import PrivatePostgres
    from tests.fixtures.processes import PrivateRedis

    postgres = PrivatePostgres.start(max_connections=max_connections, options=postgres_options)
    redis_server = PrivateRedis.start()
    try:
        postgres.create_database(database)
        services = Services(postgres, redis_server, postgres.url(database), new_secrets())
        setup_django(
            database_url=services.database_url, redis_url=services.redis_url, key_prefix=key_prefix,
            gateway_secrets=services.secrets,
        )  # fmt: skip
        yield services
    finally:
        redis_server.kill()
        postgres.stop()


def database_env(server: str, workers: int) -> dict[str, str]:
    """granian: a connection per thread (no pool lock, no ping per request); uvicorn: a pool per process."""
    if server == "granian":
        return {"CONN_MAX_AGE": "600", "CONN_HEALTH_CHECKS": "false", "DATABASE_POOL_MAX_SIZE": "0"}
    return {"DATABASE_POOL_MAX_SIZE": str(max(20, 200 // workers))}


def agent_budget_env(calls: int) -> dict[str, str]:
    """The bench's one agent client is sized for its volume, as an operator sizes a real one
    (docs/verification.md, Budgets): every call may sit between its first and its completing verify
    turn at once, each holding its speculative search's draw on the client's budget."""
    return {"VERIFY_BUDGET_PER_AGENT": str(max(200, calls + 100))}


def build(sandbox, *, callers: int) -> World:
    """Configure the health systems (the load's, and the probes' during the load) and the agent client;
    register the gateway's and the baseline's EHR clients with the sandbox."""
    from tests import builders
    from tests.ehr_integrations.sandbox_systems import secret_system

    # client_secret_basic, client id "gw-<slug>"; timeouts, retries and breaker at the production defaults
    system = secret_system(sandbox, slug=SLUG, vendor=sandbox.flavour)
    probe_system = secret_system(sandbox, slug=PROBE_SLUG, vendor=sandbox.flavour)
    baseline_secret = secrets.token_urlsafe(24)
    sandbox.register_client(BASELINE_CLIENT, scopes=SCOPES.split(), auth="client_secret_basic", secret=baseline_secret)
    agent = builders.agent_client("Bench Voice", system, probe_system)
    return World(
        slug=SLUG,
        api_key=agent.api_key,
        gateway_client_id=GATEWAY_CLIENT,
        probe_slug=PROBE_SLUG,
        probe_client_id=PROBE_CLIENT,
        baseline_client_id=BASELINE_CLIENT,
        baseline_secret=baseline_secret,
        callers=ordinary_callers(sandbox, callers),
    )


def ordinary_callers(sandbox, count: int) -> list[dict]:
    """`count` distinct patients who are not hard cases (twins, duplicates...), each with an MRN."""
    hard = hard_cases.ids_in(sandbox.hard_cases())
    ordinary = [p for p in sandbox.patients() if p["id"] not in hard and p["mrn"]]
    if len(ordinary) < count:
        raise SystemExit(f"the sandbox has {len(ordinary)} ordinary patients, {count} needed: raise --patients")
    return ordinary[:count]


@dataclass
class StepBench:
    """What the step-by-step benches (cpu_steps, instructions, round_trips) run against."""

    services: Services
    sandbox: object
    world: World
    gateway: object


@contextmanager
def step_bench(
    calls: int, *, name: str, workers: int = 1, threads: int = 16, postgres_options: str = "",
    extra_env: dict[str, str] | None = None, **gateway_options: object,
) -> Iterator[StepBench]:  # fmt: skip
    """Private services, a quiet sandbox (no latency) with `calls` callers and more, and one granian
    gateway (`gateway_options`: GatewayProcess.start's wrapper, start_timeout_s); all stopped after."""
    from pathlib import Path

    from bench.cpu_steps import KEY_PREFIX
    from tests.fixtures.processes import GatewayProcess
    from tests.fixtures.sandbox import start_sandbox

    with private_services("gw_bench", key_prefix=KEY_PREFIX, postgres_options=postgres_options) as services:
        sandbox = gateway = None
        try:
            sandbox = start_sandbox(flavour="generic", patients=calls + 100, seed=7, token_lifetime=3600)
            w = build(sandbox, callers=calls + 12)
            gateway = GatewayProcess.start(
                database_url=services.database_url, redis_url=services.redis_url, secrets=services.secrets,
                workers=workers, server="granian", threads=threads, log_path=Path(f"/tmp/{name}-gateway.log"),
                extra_env={"CACHE_KEY_PREFIX": KEY_PREFIX, **(extra_env or {})} | database_env("granian", workers),
                **gateway_options,
            )  # fmt: skip
            yield StepBench(services, sandbox, w, gateway)
        finally:
            for stop in (gateway and gateway.stop, sandbox and sandbox.stop):
                if stop:
                    stop()
