"""Forwarded headers are believed only from the configured proxies (TRUSTED_PROXY_CIDRS).

Django's SECURE_PROXY_SSL_HEADER would believe `X-Forwarded-Proto: https` from any client, and a
client-supplied `X-Forwarded-For` would become the audited source address. This middleware runs
first: from a trusted proxy it takes the client address from X-Forwarded-For (the nearest address
that is not itself a trusted proxy) and keeps X-Forwarded-Proto; from anyone else it drops every
forwarded header before the rest of Django reads them.
"""

import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PORT",
             "HTTP_FORWARDED", "HTTP_X_REAL_IP")  # fmt: skip


def _networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in settings.TRUSTED_PROXY_CIDRS)


def _trusted(address: str, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(meta: dict, networks: tuple) -> str | None:
    """The client's address: REMOTE_ADDR, or behind trusted proxies the nearest untrusted X-Forwarded-For hop."""
    remote = meta.get("REMOTE_ADDR")
    if not remote or not _trusted(remote, networks):
        return remote
    for hop in reversed(meta.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        hop = hop.strip()
        try:
            ipaddress.ip_address(hop.strip("[]"))
        except ValueError:
            return remote  # a malformed chain: keep the proxy's own address
        if not _trusted(hop, networks):
            return hop
    return remote


class ProxyTrustMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.networks = _networks()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        if self.networks and _trusted(meta.get("REMOTE_ADDR") or "", self.networks):
            meta["REMOTE_ADDR"] = client_address(meta, self.networks)
        else:
            for name in FORWARDED:
                meta.pop(name, None)
        return self.get_response(request)
