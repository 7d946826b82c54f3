"""Where kapacitord may send requests: http(s) URLs only, and never to a denied network
(`[outbound] deny-networks`: link-local and the clouds' metadata addresses by default; private
ranges stay allowed, since alert receivers and InfluxDB often live there). Checked on the
addresses a host name resolves to, before each request of a topic handler and of `record
--query`: the two ways a caller makes kapacitord fetch a URL of its choosing."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from kapacitor.errors import RequestError

__all__ = ["DEFAULT_DENY_NETWORKS", "OutboundPolicy", "parse_networks", "quoted"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# Link-local (AWS, GCP, Azure and OpenStack metadata at 169.254.169.254 among it), Alibaba's
# metadata address, AWS's IPv6 metadata address, and IPv6 link-local.
DEFAULT_DENY_NETWORKS = "169.254.0.0/16,100.100.100.200/32,fd00:ec2::254/128,fe80::/10"


def parse_networks(text: str) -> tuple[Network, ...]:
    """Networks written comma separated (CIDR, or one address); ValueError naming a bad one."""
    out: list[Network] = []
    for part in (p.strip() for p in text.split(",")):
        if part:
            try:
                out.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ValueError(f"{part!r} is not a network (e.g. 169.254.0.0/16)") from None
    return tuple(out)


class OutboundPolicy:
    def __init__(self, denied: Iterable[Network]) -> None:
        self.denied = tuple(denied)

    def denied_address(self, address: str) -> Network | None:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone is no address
        except ValueError:
            return None
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return next((n for n in self.denied if ip.version == n.version and ip in n), None)

    async def check(self, url: str) -> None:
        """RequestError unless `url` is http(s) to a host none of whose addresses is denied."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RequestError(f"{url!r} is not an http(s) URL")
        host = parts.hostname
        addresses = [host]
        if self.denied and self.denied_address(host) is None:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(host, None)
            except OSError:
                return  # unresolvable: the request itself fails, saying so
            ip_families = (socket.AF_INET, socket.AF_INET6)
            addresses = [str(info[4][0]) for info in infos if info[0] in ip_families]
        for address in addresses:
            network = self.denied_address(address)
            if network is not None:
                raise RequestError(
                    f"{host} ({address}) is in the denied network {network}"
                    " (outbound.deny-networks)"
                )


def quoted(text: str, limit: int) -> str:
    """A remote answer as an error may quote it: whitespace folded, control characters
    escaped, at most `limit` characters (an error page is never relayed whole)."""
    folded = " ".join(text.split())
    safe = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in folded)
    return safe if len(safe) <= limit else safe[:limit] + "..."
