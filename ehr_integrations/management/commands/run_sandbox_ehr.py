import asyncio
import json
import sys
from typing import TypedDict, Unpack

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ehr_integrations.sandbox.app import SandboxConfig, serve
from ehr_integrations.sandbox.faults import FaultError, FaultRule, rule_from
from ehr_integrations.sandbox.flavours import FLAVOURS

REALISTIC_LATENCY = {"latency_p50_ms": 800, "latency_p99_ms": 2000}


class _Options(TypedDict):
    """The options `add_arguments` declares (argparse gives each its default)."""

    port: int
    host: str
    flavour: str
    patients: int
    seed: int
    token_lifetime: int
    realistic_latency: bool
    fault: list[str]


class Command(BaseCommand):
    help = "Run the sandbox EHR (FHIR R4 + SMART backend auth) in this process until interrupted."
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8081, help="0 picks a free port")
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--flavour", choices=sorted(FLAVOURS), default="generic")
        parser.add_argument("--patients", type=int, default=200)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--token-lifetime", type=int, default=300, help="access token lifetime, seconds")
        parser.add_argument(
            "--realistic-latency", action="store_true", help="log-normal latency on /fhir: p50 800 ms, p99 2 s"
        )
        parser.add_argument(
            "--fault",
            action="append",
            default=[],
            metavar="JSON",
            help='a fault rule, e.g. \'{"path": "/fhir/Patient*", "error_rate": 0.2, "error_status": 503}\'',
        )

    def handle(self, *args: str, **options: Unpack[_Options]) -> None:
        config = SandboxConfig(
            flavour=options["flavour"],
            patients=options["patients"],
            seed=options["seed"],
            token_lifetime=options["token_lifetime"],
            host=options["host"],
            port=options["port"],
            faults=self._faults(options),
        )
        try:
            asyncio.run(serve(config, self._announce))
        except KeyboardInterrupt:
            pass

    def _faults(self, options: _Options) -> tuple[FaultRule, ...]:
        bodies = [{"path": "/fhir/*", **REALISTIC_LATENCY}] if options["realistic_latency"] else []
        try:
            bodies += [json.loads(text) for text in options["fault"]]
            return tuple(rule_from(body) for body in bodies)
        except (ValueError, TypeError, FaultError) as exc:
            raise CommandError(f"bad --fault: {exc}") from None

    def _announce(self, base_url: str) -> None:
        # Tests and the demo wait for exactly this line.
        sys.stdout.write(f"sandbox listening on {base_url}\n")
        sys.stdout.flush()
