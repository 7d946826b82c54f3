"""Where kapacitord may send requests (kapacitor.outbound)."""

from __future__ import annotations

import pytest

from kapacitor.errors import RequestError
from kapacitor.outbound import DEFAULT_DENY_NETWORKS, OutboundPolicy, parse_networks, quoted

DEFAULT = OutboundPolicy(parse_networks(DEFAULT_DENY_NETWORKS))


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fe80::1]:8080/",
        "http://100.100.100.200/",
        "https://[fd00:ec2::254]/",
    ],
)
async def test_metadata_and_link_local_are_denied(url: str) -> None:
    with pytest.raises(RequestError, match="denied network"):
        await DEFAULT.check(url)


@pytest.mark.parametrize(
    "url", ["http://10.1.2.3:9000/hook", "http://127.0.0.1:1/", "https://192.168.1.5/x"]
)
async def test_private_ranges_are_allowed(url: str) -> None:
    await DEFAULT.check(url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://x:70/", "ftp://h/", "http://"])
async def test_only_http_urls(url: str) -> None:
    with pytest.raises(RequestError, match="not an http"):
        await DEFAULT.check(url)


async def test_host_names_are_checked_by_their_addresses() -> None:
    await DEFAULT.check("http://localhost:9092/")
    loopback = OutboundPolicy(parse_networks("127.0.0.0/8, ::1"))
    with pytest.raises(RequestError, match=r"localhost \(.*\) is in the denied network"):
        await loopback.check("http://localhost:9092/")
    await OutboundPolicy(()).check("http://169.254.169.254/")  # an empty list denies nothing


def test_bad_networks_and_quoting() -> None:
    with pytest.raises(ValueError, match="'nope' is not a network"):
        parse_networks("10.0.0.0/8,nope")
    assert quoted("<html>\x1b[31m\n" + "x" * 400, 30) == "<html>\\x1b[31m " + "x" * 15 + "..."
