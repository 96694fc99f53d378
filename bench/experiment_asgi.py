"""EXPERIMENT, not production: the gateway with its EHR connection pool split into shards.

`bench/run.py --experiment sharded-ehr-pool` serves this instead of config.asgi to test one
hypothesis: that the gateway's EHR client (one httpx.AsyncClient per process, whose httpcore pool
rescans every connection for every request) is what fails under many concurrent calls. Only
ehr_integrations.transport._client is replaced; everything else is the production application.
"""

import asyncio
import itertools
import weakref

import httpx

from config.asgi import application  # noqa: F401  (what uvicorn serves)
from ehr_integrations import transport

SHARDS = 16
_shards: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, itertools.cycle]" = weakref.WeakKeyDictionary()


def _sharded_client() -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    cycle = _shards.get(loop)
    if cycle is None:
        limits = httpx.Limits(max_connections=32, max_keepalive_connections=50, keepalive_expiry=30.0)
        clients = [
            httpx.AsyncClient(follow_redirects=False, limits=limits, headers={"User-Agent": "voice-ehr-gateway"})
            for _ in range(SHARDS)
        ]
        cycle = _shards[loop] = itertools.cycle(clients)
    return next(cycle)


transport._client = _sharded_client
