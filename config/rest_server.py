"""The agent REST API, the webhooks and the admin (`config.wsgi`) under granian, a Rust HTTP server.

    python -m config.rest_server                 # $BIND_ADDRESS:$PORT, $WEB_CONCURRENCY workers
    python -m config.rest_server --access-log    # + one line per request, without its query string
    python -m config.rest_server --port 8001 --workers 1 --threads 8

Each request runs on one of a worker's blocking threads from start to end, as under gunicorn's
gthread, which served it until issue 24: the HTTP parsing, keep-alive and the hand-off to a thread
now happen in Rust (gateway CPU per call at 25 calls a second, same night: 49.5 ms under gunicorn,
39.0 ms under granian; bench/README.md, session 10). The WebSocket `/ws/…` and `/mcp` need ASGI: route those paths to
`uvicorn config.asgi:application` (README, Production). Env: BIND_ADDRESS (default 127.0.0.1: the
load balancer's side of the machine, never every interface by accident), PORT (8000),
WEB_CONCURRENCY (workers, default 2 per core), REST_THREADS (blocking threads per worker, 64).
Forwarded headers are believed only from TRUSTED_PROXY_CIDRS (config/proxy_trust.py), whatever the
server. What a worker does once the application is loaded is in config/wsgi.py.
"""

import argparse
import os

from granian.constants import Interfaces
from granian.log import LogLevels
from granian.server import Server

# A thread is held for a request's whole life, including an EHR round trip (verification, live
# tool calls); idle keep-alive connections hold none. Threads are kept (each keeps its database and
# Redis connections, ehr_integrations/transport/thread_affine.py) for granian's longest idle time.
THREADS_KEPT_IDLE_S = 600
ACCESS_FORMAT = '%(addr)s [%(time)s] "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).1fms'  # no query


def server(*, port: int, workers: int, threads: int, access_log: bool = False) -> Server:
    return Server(
        "config.wsgi:application",
        address=os.environ.get("BIND_ADDRESS", "127.0.0.1"),
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        blocking_threads=threads,
        blocking_threads_idle_timeout=THREADS_KEPT_IDLE_S,
        websockets=False,
        backlog=4096,
        log_level=LogLevels.warning,
        log_access=access_log,
        log_access_format=ACCESS_FORMAT,
        workers_kill_timeout=20,
        respawn_failed_workers=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1)))
    )
    parser.add_argument("--threads", type=int, default=int(os.environ.get("REST_THREADS", "64")), help="per worker")
    parser.add_argument("--access-log", action="store_true", help="log each request (path, status, time)")
    args = parser.parse_args()
    server(port=args.port, workers=args.workers, threads=args.threads, access_log=args.access_log).serve()


if __name__ == "__main__":
    main()
