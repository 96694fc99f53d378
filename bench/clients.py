"""The load generator's HTTP clients.

The agent talking to the gateway uses aiohttp (`AgentHttp`). The instrument must not dominate
what it measures: with a prefetched tool call taking 6-8 ms at the gateway, httpx added ~2.5 ms
per request over aiohttp (median, one at a time, on this box), and its connection pool rescans
every connection for every request it assigns, which added seconds at a few hundred in flight.

The direct-FHIR baseline keeps httpx, as the issue describes the team's agent (`ClientShards`,
one AsyncClient per 16 calls so each pool stays small); against its ~5 s of waits per call the
~2.5 ms per request is under 0.5 %.
"""

import math
from dataclasses import dataclass

import aiohttp
import httpx

CALLS_PER_CLIENT = 16
TIMEOUT_S = 30


@dataclass(frozen=True)
class Reply:
    status_code: int
    body: object  # the decoded JSON, or None

    def json(self) -> object:
        if self.body is None:
            raise ValueError("not JSON")
        return self.body


class AgentHttp:
    """The agent backend's client of the gateway: one aiohttp session, keep-alive, no pool limit."""

    def __init__(self, base_url: str, headers: dict[str, str]) -> None:
        self.session = aiohttp.ClientSession(
            base_url,
            headers=headers,
            connector=aiohttp.TCPConnector(limit=0),
            timeout=aiohttp.ClientTimeout(total=TIMEOUT_S),
        )

    async def request(self, method: str, url: str, *, json: dict | None = None, params: dict | None = None) -> Reply:
        async with self.session.request(method, url, json=json, params=params) as response:
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = None
            return Reply(response.status, body)

    async def get(self, url: str, *, params: dict | None = None) -> Reply:
        return await self.request("GET", url, params=params)

    async def post(self, url: str, *, json: dict | None = None) -> Reply:
        return await self.request("POST", url, json=json)

    async def __aenter__(self) -> "AgentHttp":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.session.close()


class ClientShards:
    def __init__(self, calls: int, **client_options) -> None:
        count = max(1, math.ceil(calls / CALLS_PER_CLIENT))
        self.clients = [httpx.AsyncClient(timeout=TIMEOUT_S, **client_options) for _ in range(count)]

    def for_call(self, index: int) -> httpx.AsyncClient:
        return self.clients[index % len(self.clients)]

    async def __aenter__(self) -> "ClientShards":
        return self

    async def __aexit__(self, *exc) -> None:
        for client in self.clients:
            await client.aclose()
