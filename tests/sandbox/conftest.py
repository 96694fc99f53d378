import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest


class JWKSServer:
    """A client's JWKS URL on loopback: serves `jwks` with `cache_control` and counts fetches."""

    def __init__(self) -> None:
        self.jwks: dict = {"keys": []}
        self.cache_control: str | None = None
        self.fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server API)
                server.fetches += 1
                body = json.dumps(server.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                if server.cache_control:
                    self.send_header("Cache-Control", server.cache_control)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/jwks.json"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def jwks_server():
    server = JWKSServer()
    yield server
    server.httpd.shutdown()


@pytest.fixture
def http():
    with httpx.Client(timeout=10) as client:
        yield client
