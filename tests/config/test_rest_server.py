"""The REST server's settings (config/rest_server.py): loopback unless told otherwise, one thread per request."""

from granian.constants import Interfaces

from config import rest_server


def test_it_listens_on_loopback_unless_bind_address_says_otherwise(monkeypatch):
    monkeypatch.delenv("BIND_ADDRESS", raising=False)
    assert rest_server.server(port=8123, workers=1, threads=3).bind_addr == "127.0.0.1"
    monkeypatch.setenv("BIND_ADDRESS", "10.0.0.5")
    assert rest_server.server(port=8123, workers=1, threads=3).bind_addr == "10.0.0.5"


def test_requests_run_on_kept_blocking_threads_without_websockets_or_an_access_log():
    served = rest_server.server(port=8123, workers=2, threads=5)
    assert served.interface is Interfaces.WSGI and served.target == "config.wsgi:application"
    assert (served.workers, served.blocking_threads) == (2, 5)
    assert served.blocking_threads_idle_timeout == rest_server.THREADS_KEPT_IDLE_S  # connections kept per thread
    assert served.websockets is False and served.log_access is False  # /ws/ and /mcp are uvicorn's
    assert "%(path)s" in rest_server.ACCESS_FORMAT and "query" not in rest_server.ACCESS_FORMAT
