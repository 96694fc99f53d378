"""A hostile or broken EHR in front of the sandbox: a loopback proxy that passes every request on and
lets a test rewrite the answer to one of them (tests/calls/test_write_abuse.py).

    ehr = HostileEHR(sandbox.fhir_url)
    ehr.tamper("POST", "/fhir/Task", lambda answer: answer.replace(body=b"{}"))
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import httpx


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict
    body: bytes
    drip_s: float = 0.0  # the pause before each byte of the body (a slow drip)

    def replace(self, **changes: object) -> "Answer":
        return replace(self, **changes)


Tamper = Callable[[Answer], Answer]


def _matches(path: str, pattern: str) -> bool:
    """ "/fhir/Task" is that path only (not its _search); "/fhir/Task/" any path under it."""
    return path.startswith(pattern) if pattern.endswith("/") else path == pattern


class HostileEHR:
    def __init__(self, upstream_fhir_url: str) -> None:
        parts = urlsplit(upstream_fhir_url)
        self.upstream = f"{parts.scheme}://{parts.netloc}"
        self.tampers: dict[tuple[str, str], Tamper] = {}
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                got = httpx.request(self.command, proxy.upstream + self.path, content=body, headers=headers, timeout=30)
                answer = Answer(got.status_code, {"Content-Type": got.headers.get("Content-Type", "")}, got.content)
                if "Location" in got.headers:
                    answer.headers["Location"] = got.headers["Location"]
                path = self.path.split("?")[0]
                tamper = next(
                    (t for (m, p), t in proxy.tampers.items() if m == self.command and _matches(path, p)), None
                )
                if tamper is not None:
                    answer = tamper(answer)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                if not answer.drip_s:
                    self.wfile.write(answer.body)
                    return
                for byte in answer.body:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(answer.drip_s)

            do_GET = do_POST = _forward  # noqa: N815 (http.server API)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.fhir_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/fhir"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def tamper(self, method: str, path: str, change: Tamper) -> None:
        """Rewrite the answers to `method` requests on `path` (_matches)."""
        self.tampers[(method, path)] = change

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
