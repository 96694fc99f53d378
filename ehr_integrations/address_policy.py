"""Where the gateway may send a request: https to a public address, or a network the operator allowed.

An EHR or token URL that names a loopback, private, link-local, shared, reserved or cloud-metadata
address would turn the gateway into a proxy to its own network (SSRF: Redis, Postgres, the
metadata service and its credentials). The rule is checked twice:
- at save (`url_refusal`): the URL's own text only, no DNS lookup (literal addresses in every
  spelling getaddrinfo accepts, `localhost` and the cloud metadata names);
- at connect (transport/resolver.py): the name is resolved, every address checked, and the
  connection is made to the checked addresses only (aiohttp connects to what its resolver
  returned, so a second, rebinding answer is never asked for).
`EHR_ALLOWED_NETWORKS` (CIDRs, empty by default) allows networks: the sandbox, the tests, the
bench and the demo allow 127.0.0.0/8; an on-premises site allows its own network. Cloud metadata
addresses are refused even then: no EHR lives there. Plain http is allowed only to a loopback
address inside an allowed network (a sandbox on this machine). Behind an egress proxy the target
is never resolved here, so the rule holds by name only and the proxy must filter egress.
"""

import functools
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Instance metadata services (AWS, GCP, Azure, OpenStack: 169.254.169.254; AWS IPv6; AWS ECS task
# credentials; Alibaba; Oracle Cloud).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "fd00:ec2::254", "169.254.170.2", "169.254.170.23", "100.100.100.200", "192.0.0.192")
)
METADATA_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.tencentyun.com",
    }
)
LOCALHOST = (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1"))
NAT64 = ipaddress.ip_network("64:ff9b::/96")
RULE = "EHR and token URLs must be https to a public address"
HINT = "allow an on-premises network with EHR_ALLOWED_NETWORKS"


@functools.cache
def _networks(configured: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in configured if c.strip())


def allowed_networks() -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return _networks(tuple(settings.EHR_ALLOWED_NETWORKS))


def _embedded(address: IPAddress) -> IPAddress:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), which is where it really goes."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            return address.ipv4_mapped
        if address.sixtofour:
            return address.sixtofour
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _kind(address: IPAddress) -> str | None:
    """What makes an address non-public, or None for a public unicast address."""
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified or address.is_multicast or address.is_reserved:
        return "not a unicast address"
    if address.is_private:
        return "a private address"
    if not address.is_global:
        return "not a public address"  # shared (100.64/10), documentation and benchmarking ranges
    return None


def address_refusal(address: IPAddress) -> str | None:
    """Why the gateway may not connect to this address, or None when it may."""
    address = _embedded(address)
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address (never allowed)"
    kind = _kind(address)
    if kind is None or any(address in network for network in allowed_networks()):
        return None
    return kind


def literal_address(host: str) -> IPAddress | None:
    """The address a host names by itself, in any spelling the resolver accepts (127.1, 0x7f000001, 2130706433)."""
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))  # the legacy forms getaddrinfo also accepts
        except OSError:
            return None
    return None


def ehr_url_errors(**urls: str) -> dict[str, str]:
    """Field name -> the policy's refusal, for each non-empty URL refused (the models' save-time check)."""
    refusals = {name: url_refusal(url) for name, url in urls.items() if url}
    return {name: refusal.explained() for name, refusal in refusals.items() if refusal}


def _name(host: str) -> str:
    return host.lower().rstrip(".")


def _as_address(name: str) -> IPAddress | None:
    if name == "localhost" or name.endswith(".localhost"):  # RFC 6761: always loopback
        return LOCALHOST[0]
    return literal_address(name)


def host_refusal(host: str) -> str | None:
    """Why this host (as written in a URL) is refused without resolving it, or None."""
    name = _name(host)
    if not name:
        return "the URL has no host"
    if name in METADATA_NAMES:
        return f"{name} is a cloud metadata name (never allowed)"
    address = _as_address(name)
    reason = address_refusal(address) if address is not None else None
    return f"{name} is {reason}" if reason else None


@dataclass(frozen=True)
class Refusal:
    code: str  # https_required, address_not_allowed, invalid_url
    reason: str  # for people: what is wrong with this URL

    def explained(self) -> str:
        """The refusal as a sentence naming the rule (for the admin and config-as-code)."""
        return f"{RULE}: {self.reason} ({HINT})."


def url_refusal(url: str) -> Refusal | None:
    """Why this EHR or token URL is refused by its text alone (at save, and again before each request)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018  (raises ValueError for a port out of range)
    except ValueError:
        return Refusal("invalid_url", "the URL cannot be parsed")
    if parts.username is not None or parts.password is not None:
        return Refusal("invalid_url", "credentials do not belong in the URL")
    if parts.scheme not in ("https", "http"):
        return Refusal("https_required", "the URL must be https")
    if reason := host_refusal(host):
        return Refusal("address_not_allowed", reason)
    address = _as_address(_name(host))
    loopback = address is not None and _embedded(address).is_loopback
    if parts.scheme == "http" and not loopback:
        return Refusal("https_required", "plain http is allowed only to a loopback address in EHR_ALLOWED_NETWORKS")
    return None
