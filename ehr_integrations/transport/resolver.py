"""The EHR client's DNS resolver: a name is used only when every address it resolves to passes the policy.

aiohttp connects to the addresses its resolver returns, so the addresses checked here are the ones
connected to (no second lookup a rebinding DNS server could answer differently). Literal addresses
never reach a resolver: `http.check_url` checks them before each request.
"""

import ipaddress
import socket
from collections.abc import Iterable

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from ehr_integrations.address_policy import METADATA_NAMES, address_refusal


class AddressRefused(OSError):
    """A resolved address the policy refuses (an OSError, so aiohttp reports it as a DNS failure)."""

    def __init__(self, host: str, reason: str) -> None:
        self.host, self.reason = host, reason
        super().__init__(f"{host}: {reason}")


def _name(host: str) -> str:
    return host.lower().rstrip(".")


class PolicyResolver(AbstractResolver):
    """Resolves with aiohttp's default resolver, then refuses the name unless every address passes.

    `exempt`: hosts not checked (the configured egress proxies, which are internal by design).
    """

    def __init__(self, exempt: Iterable[str] = ()) -> None:
        self._inner = DefaultResolver()
        self._exempt = frozenset(_name(h) for h in exempt)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self._inner.resolve(host, port, family)
        if _name(host) in self._exempt:
            return found
        if _name(host) in METADATA_NAMES:
            raise AddressRefused(host, "a cloud metadata name")
        for entry in found:
            if reason := address_refusal(ipaddress.ip_address(entry["host"])):
                raise AddressRefused(host, reason)  # one bad address refuses the name: no retry on another
        return found

    async def close(self) -> None:
        await self._inner.close()
