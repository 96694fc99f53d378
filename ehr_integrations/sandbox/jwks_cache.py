"""Fetches clients' JWK Sets from their registered URLs, caching each only as long as its Cache-Control allows.

SMART Backend Services: the server must not cache a JWKS longer than the client's Cache-Control says;
a `kid` missing from a cached set triggers one fresh fetch (the client may have rotated keys).
"""

import time

import aiohttp
from joserfc.errors import JoseError
from joserfc.jwk import KeySet


class JWKSUnavailable(Exception):
    pass


def max_age(cache_control: str | None) -> float:
    """Seconds a response may be reused: max-age unless no-store/no-cache; 0 when the header is absent."""
    if not cache_control:
        return 0.0
    directives = [part.strip().lower() for part in cache_control.split(",")]
    if "no-store" in directives or "no-cache" in directives:
        return 0.0
    for directive in directives:
        name, _, value = directive.partition("=")
        if name == "max-age" and value.strip().isdigit():
            return float(value.strip())
    return 0.0


class JWKSCache:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[KeySet, float]] = {}
        self._session: aiohttp.ClientSession | None = None
        self.fetches = 0

    async def key_set(self, url: str, *, fresh: bool = False) -> KeySet:
        entry = self._entries.get(url)
        if entry and not fresh and entry[1] > time.monotonic():
            return entry[0]
        return await self._fetch(url)

    async def _fetch(self, url: str) -> KeySet:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
        self.fetches += 1
        try:
            async with self._session.get(url) as response:
                if response.status != 200:
                    raise JWKSUnavailable(f"JWKS URL answered {response.status}")
                body = await response.json(content_type=None)
                keys = KeySet.import_key_set(body)
                age = max_age(response.headers.get("Cache-Control"))
        except (aiohttp.ClientError, TimeoutError, ValueError, JoseError) as exc:
            raise JWKSUnavailable(f"JWKS URL could not be read ({type(exc).__name__})") from exc
        if age > 0:
            self._entries[url] = (keys, time.monotonic() + age)
        else:
            self._entries.pop(url, None)
        return keys

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
