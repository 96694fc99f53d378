"""`make demo`: the embedded gateway, the sandbox EHR and a scripted call, with nothing else installed.

Migrates the embedded database, starts the sandbox EHR, applies the demo health system, creates an
agent client and an admin login, starts the gateway, plays one call as a voice agent would, and
keeps serving until interrupted.
"""

import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

import httpx
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import BaseCommand, CommandParser, call_command

from calls.edges.api_keys import issue_key
from calls.models import AgentClient
from compliance.agreements_as_code import apply_text as apply_agreements
from compliance.models import BusinessAssociate
from ehr_integrations.models import HealthSystem
from ehr_integrations.setup.config_as_code import apply_text

DEMO_YAML = Path(settings.BASE_DIR) / "docs" / "examples" / "riverside.yaml"
BAA_YAML = Path(settings.BASE_DIR) / "docs" / "examples" / "business-associates.yaml"
DEMO_ASSOCIATE = "Example Voice Agent Co."
DEMO_NETWORK = "127.0.0.0/8"
# The servers' own logs go here, so the terminal shows the call as a conversation.
LOG_PATH = Path(tempfile.gettempdir()) / "voice-gateway-demo.log"


def _wait_until_up(url: str, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url} exited early with status {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not come up in {seconds:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _allow_loopback_ehr() -> None:
    """The demo's EHR is the sandbox on loopback: allowed through the address policy's setting, here and in
    the gateway process started below (production leaves EHR_ALLOWED_NETWORKS empty)."""
    if not settings.EHR_ALLOWED_NETWORKS:
        os.environ["EHR_ALLOWED_NETWORKS"] = DEMO_NETWORK
        settings.EHR_ALLOWED_NETWORKS = [DEMO_NETWORK]


def configure_demo_system(sandbox_port: int, secret: str) -> HealthSystem:
    """riverside against the sandbox on that port, with a client secret the sandbox is told (README walkthrough)."""
    os.environ["DEMO_EHR_SECRET"] = secret
    text = DEMO_YAML.read_text().replace("127.0.0.1:8081", f"127.0.0.1:{sandbox_port}")
    text = text.replace(
        "  auth_method: private_key_jwt",
        f"  auth_method: client_secret_basic\n  client_secret_env: DEMO_EHR_SECRET\n"
        f"  token_url: http://127.0.0.1:{sandbox_port}/oauth2/token",
    )
    result = apply_text(text)
    system = HealthSystem.objects.get(slug=result.slug)
    scopes = system.connection.scope_list()
    httpx.post(
        f"http://127.0.0.1:{sandbox_port}/_control/clients",
        json={
            "client_id": system.connection.client_id,
            "auth": "client_secret_basic",
            "secret": secret,
            "scopes": scopes,
        },
        timeout=5,
    ).raise_for_status()
    return system


def demo_agent_key(system: HealthSystem) -> str:
    """The agent client of the demo acts for the example business associate, whose BAA covers riverside."""
    apply_agreements(BAA_YAML.read_text(), base_dir=BAA_YAML.parent)
    associate = BusinessAssociate.objects.get(name=DEMO_ASSOCIATE)
    client, _ = AgentClient.objects.get_or_create(name="Demo voice agent")
    client.business_associate = associate
    client.save(update_fields=["business_associate"])
    client.health_systems.add(system)
    return issue_key(agent_client=client, label="demo")


class Command(BaseCommand):
    help = "Run the gateway with the sandbox EHR and play a scripted demo call."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--sandbox-port", type=int, default=8081)
        parser.add_argument("--no-serve", action="store_true", help="play the call, then stop")

    def handle(self, *args: object, port: int, sandbox_port: int, no_serve: bool, **options: object) -> None:
        _allow_loopback_ehr()
        call_command("migrate", verbosity=0)
        secret = secrets.token_urlsafe(24)
        log = LOG_PATH.open("w", encoding="utf-8")
        self.stdout.write(f"Server logs: {LOG_PATH}")
        sandbox = self._start_sandbox(sandbox_port, log)
        try:
            system = configure_demo_system(sandbox_port, secret)
            key = demo_agent_key(system)
            self._admin_login()
            gateway = subprocess.Popen(  # noqa: S603
                [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
                cwd=settings.BASE_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                _wait_until_up(f"http://127.0.0.1:{port}/healthz", gateway)
                self.stdout.write(
                    f"\nA call to {system.name} ({system.vendor} sandbox), as the voice agent plays it:\n"
                )
                self._play_call(f"http://127.0.0.1:{port}", key, sandbox_port)
                if not no_serve:
                    self.stdout.write(f"\nGateway: http://127.0.0.1:{port}/admin/  (Ctrl-C to stop)")
                    gateway.wait()
            finally:
                _stop(gateway)
        finally:
            _stop(sandbox)
            log.close()

    def _start_sandbox(self, port: int, log: TextIO) -> subprocess.Popen:
        process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "manage.py",
                "run_sandbox_ehr",
                "--port",
                str(port),
                "--flavour",
                "epic",
                "--patients",
                "500",
                "--seed",
                "7",
            ],
            cwd=settings.BASE_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _wait_until_up(f"http://127.0.0.1:{port}/fhir/metadata", process)
        return process

    def _admin_login(self) -> None:
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username="admin", defaults={"is_staff": True})
        user.is_staff = user.is_superuser = True
        user.set_password(password)
        user.save()
        self.stdout.write(f"Admin login for this run: admin / {password}")

    def _play_call(self, base: str, key: str, sandbox_port: int) -> None:
        from calls.demo_call import play

        control = f"http://127.0.0.1:{sandbox_port}/_control"
        complete = httpx.get(f"{control}/hard-cases", timeout=5).json()["complete"]  # one of everything
        caller = next(p for p in httpx.get(f"{control}/patients", timeout=5).json() if p["id"] == complete)
        play(base_url=base, api_key=key, caller=caller, health_system="riverside", out=self.stdout)
