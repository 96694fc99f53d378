"""The whole ASGI gateway (HTTP, WebSocket, MCP) served by uvicorn in its own process, on loopback.

A separate process, as in production: timings are not skewed by sharing the test's interpreter.
It uses the test database and the same Redis, so tests that use it need committed data
(transactional_db). Import the fixture into a test module:
`from tests.calls.live_gateway import gateway, gateway_process`.
"""

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 60


@dataclass(frozen=True)
class LiveGateway:
    url: str

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_url() -> str:
    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.fixture(scope="module")
def gateway_process(django_db_setup, django_db_blocker):
    port = _free_port()
    env = os.environ | {"DATABASE_URL": _database_url(), "DATABASE_POOL_MAX_SIZE": "8", "PYTHONUNBUFFERED": "1"}
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "config.asgi:application",
        "--host=127.0.0.1",
        f"--port={port}",
        "--lifespan=off",
        "--ws=websockets-sansio",
        "--log-level=warning",
    ]
    process = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("the live gateway did not start")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield LiveGateway(url=url)
    stop(process)


def stop(process: subprocess.Popen) -> None:
    """Terminate a server process, killing it if it does not exit within ten seconds."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def gateway(gateway_process, transactional_db) -> LiveGateway:
    return gateway_process
