"""The whole ASGI gateway (HTTP, WebSocket, MCP) served by uvicorn on loopback inside the test process.

Tests that use it need committed data (transactional_db): the server's threads have their own
database connections. Import the fixture into a test module: `from tests.calls.live_gateway import gateway`.
"""

import threading
import time
from dataclasses import dataclass

import pytest
import uvicorn

START_TIMEOUT_S = 10


@dataclass(frozen=True)
class LiveGateway:
    url: str

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)


@pytest.fixture
def gateway(transactional_db):
    from config.asgi import application

    config = uvicorn.Config(application, host="127.0.0.1", port=0, lifespan="off", log_level="warning", ws="websockets")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="live-gateway", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live gateway did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield LiveGateway(url=f"http://127.0.0.1:{port}")
    server.should_exit = True
    thread.join(START_TIMEOUT_S)
