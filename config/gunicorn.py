"""gunicorn settings for the agent REST API and the admin (`config.wsgi`).

    gunicorn -c config/gunicorn.py config.wsgi:application

Threaded workers run each request on one thread from start to end: no per-request thread
hand-offs as under ASGI (bench/README.md). The WebSocket `/ws/…` and `/mcp` need ASGI: route those
paths to `uvicorn config.asgi:application` (README, Production). Env: PORT, WEB_CONCURRENCY
(workers, default 2 per core), GUNICORN_THREADS (threads per worker, default 64), BIND_ADDRESS
(default 127.0.0.1: the load balancer's side of the machine, never every interface by accident),
TRUSTED_PROXY_CIDRS (the load balancers whose X-Forwarded-* headers are believed; default none).
The access log (off unless `--access-logfile`) prints paths without their query strings.
"""

import os

from gunicorn.workers.base import Worker

bind = f"{os.environ.get('BIND_ADDRESS', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", 2 * (os.cpu_count() or 1)))
worker_class = "gthread"
# A thread is held for a request's whole life, including an EHR round trip (verification, live
# tool calls); idle keep-alive connections hold none.
threads = int(os.environ.get("GUNICORN_THREADS", "64"))
worker_connections = 4096
backlog = 4096
keepalive = 30
timeout = 60
graceful_timeout = 20
accesslog = None  # URLs carry call ids only, but access logs are kept out by default
# %(U)s is the path alone: a query string (a deprecated `?key=`) never reaches the access log.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms'
# Only the configured proxies may set the scheme and client address (X-Forwarded-*); none by default.
forwarded_allow_ips = os.environ.get("TRUSTED_PROXY_CIDRS", "").replace(" ", "")


def post_worker_init(worker: Worker) -> None:
    """The application is loaded in this worker: Django's per-request state in plain thread-locals
    (ehr_integrations/transport/thread_affine.py), then frozen out of garbage collection (config/gc_freeze.py)."""
    from config.gc_freeze import freeze_loaded_objects
    from ehr_integrations.transport.thread_affine import thread_critical_locals

    thread_critical_locals()  # no process-wide lock per access to Django's per-request state
    freeze_loaded_objects()
