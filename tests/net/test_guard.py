"""The address and URL checks, judged as pure functions: no socket is ever opened here."""

from __future__ import annotations

import socket

import pytest

from audiofetch.config import parse_networks
from audiofetch.errors import BlockedURLError
from audiofetch.net import BAD_PORTS, address_problem, check_address, check_url, guarded_socket_factory

REFUSED = [
    "127.0.0.1",
    "127.255.255.254",
    "0.0.0.0",
    "0.1.2.3",
    "10.0.0.1",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "169.254.0.1",
    "100.64.0.1",
    "100.127.255.254",
    "192.0.0.8",
    "192.0.2.10",
    "198.18.0.1",
    "198.51.100.7",
    "203.0.113.9",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.255",
    "::",
    "::1",
    "fe80::1",
    "fe80::1%1",
    "fec0::1",
    "fc00::1",
    "fd12:3456:789a::1",
    "ff02::1",
    "ff0e::1",
    "::ffff:127.0.0.1",
    "::ffff:10.1.2.3",
    "::ffff:169.254.169.254",
    "::127.0.0.1",
    "2002:7f00:1::",
    "2002:a9fe:a9fe::1",
    "2002:c0a8:101::1",
    "64:ff9b::7f00:1",
    "64:ff9b::a9fe:a9fe",
    "64:ff9b:1::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "2001:db8::1",
    "100::1",
]

ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "100.63.255.255",
    "100.128.0.1",
    "172.32.0.1",
    "2606:4700::1111",
    "2a00:1450:4001::200e",
    "::ffff:8.8.8.8",
    "2002:0808:0808::1",
    "64:ff9b::808:808",
]


@pytest.mark.parametrize("ip", REFUSED)
def test_non_global_addresses_are_refused(ip: str) -> None:
    assert address_problem(ip) is not None
    with pytest.raises(BlockedURLError):
        check_address(ip)


@pytest.mark.parametrize("ip", ALLOWED)
def test_public_addresses_pass(ip: str) -> None:
    assert address_problem(ip) is None
    check_address(ip)


@pytest.mark.parametrize(
    ("ip", "networks", "allowed"),
    [
        ("127.0.0.1", "127.0.0.0/8", True),
        ("127.9.9.9", "127.0.0.0/8", True),
        ("::ffff:127.0.0.1", "127.0.0.0/8", True),
        ("::1", "127.0.0.0/8", False),
        ("::1", "::1/128", True),
        ("192.168.1.20", "192.168.0.0/16", True),
        ("192.169.1.20", "192.168.0.0/16", True),  # public anyway
        ("10.0.0.1", "192.168.0.0/16", False),
        ("169.254.169.254", "127.0.0.0/8,192.168.0.0/16", False),
        ("127.0.0.2", "127.0.0.1/32", False),
    ],
)
def test_allow_networks_let_only_their_addresses_through(ip: str, networks: str, allowed: bool) -> None:
    assert (address_problem(ip, parse_networks(networks)) is None) is allowed


def test_reasons_name_the_kind_of_address() -> None:
    assert address_problem("127.0.0.1") == "a loopback address"
    assert address_problem("169.254.169.254") is not None
    assert "link-local" in (address_problem("169.254.169.254") or "")
    assert "carrier-grade" in (address_problem("100.64.1.1") or "")
    assert "inside an IPv6 address" in (address_problem("2002:7f00:1::") or "")
    assert address_problem("not-an-ip") == "not an IP address"


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/a.mp3",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "gopher://example.com:70/",
        "example.com/a.mp3",
        "http://user:pass@example.com/a.mp3",
        "http://user@example.com/a.mp3",
        "http:///nohost",
        "http://example.com:25/",
        "http://example.com:6667/",
        "https://example.com:22/",
        "http://127.0.0.1/",
        "http://[::1]:8080/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://10.0.0.1:8080/x.mp3",
        "http://0.0.0.0/",
        "http://example.com:99999/",
    ],
)
def test_check_url_refuses(url: str) -> None:
    with pytest.raises(BlockedURLError):
        check_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/a.mp3",
        "https://example.com:8443/a%20b.mp3?x=1#t",
        "http://8.8.8.8/",
        "http://[2606:4700::1111]/",
        "HTTP://EXAMPLE.COM/",
    ],
)
def test_check_url_accepts_ordinary_web_addresses(url: str) -> None:
    assert check_url(url).host is not None


def test_check_url_lets_allowed_literals_through() -> None:
    assert check_url("http://127.0.0.1:8080/", parse_networks("127.0.0.0/8")).port == 8080


def test_bad_ports_follow_the_fetch_standard() -> None:
    assert {1, 22, 25, 6667, 10080, 4190, 6679} <= BAD_PORTS
    assert not {80, 443, 8080, 8000, 8443} & BAD_PORTS


@pytest.mark.parametrize(
    ("family", "sockaddr"),
    [
        (socket.AF_INET, ("10.0.0.1", 80)),
        (socket.AF_INET, ("169.254.169.254", 80)),
        (socket.AF_INET, ("127.0.0.1", 80)),
        (socket.AF_INET6, ("::ffff:192.168.0.1", 80, 0, 0)),
        (socket.AF_INET6, ("fe80::1%1", 80, 0, 1)),
        (socket.AF_INET6, ("64:ff9b::a00:1", 80, 0, 0)),
        (socket.AF_UNIX, "/run/docker.sock"),
    ],
)
def test_socket_factory_refuses_before_a_socket_exists(family: int, sockaddr: object) -> None:
    factory = guarded_socket_factory(())
    with pytest.raises(OSError, match="refused by the AudioFetch address guard"):
        factory((family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))


def test_socket_factory_gives_an_unconnected_socket_for_allowed_addresses() -> None:
    factory = guarded_socket_factory(parse_networks("127.0.0.0/8"))
    sock = factory((socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("127.0.0.1", 80)))
    with sock:
        assert sock.family == socket.AF_INET
        with pytest.raises(OSError):
            sock.getpeername()
