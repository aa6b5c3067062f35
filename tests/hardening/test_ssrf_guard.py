"""SSRF with the default configuration: every private form is refused before a socket connects.

Addresses other than loopback are never connected to: a name is pointed at them through an injected
resolver and the loop's ``sock_connect`` is a tripwire that records (and refuses) any dial. tests/net
already judges the address table as pure functions; here the same forms go through a real session.
"""

from __future__ import annotations

import pytest

from audiofetch.config import Settings
from audiofetch.errors import BlockedURLError
from audiofetch.net import check_url, open_fetcher
from tests.dns import TableResolver
from tests.hardening.netkit import dial_tripwire, ipv6_loopback_available, listening

DEFAULT = Settings()  # empty allow-list: only public addresses

# (address, words the refusal must carry): the list, with both ends of each range.
PRIVATE = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("::1", "loopback"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("10.0.0.1", "private"),
    ("10.255.255.254", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.254", "private"),
    ("192.168.0.1", "private"),
    ("192.168.255.254", "private"),
    ("100.64.0.1", "carrier-grade"),
    ("100.127.255.254", "carrier-grade"),
    ("169.254.169.254", "link-local"),
    ("224.0.0.1", "multicast"),
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
    ("::ffff:10.1.2.3", "private"),
    ("::ffff:169.254.169.254", "link-local"),
    ("2002:7f00:1::1", "inside an IPv6 address"),  # 6to4 of 127.0.0.1
    ("2002:a00:1::1", "inside an IPv6 address"),  # 6to4 of 10.0.0.1
    ("2002:c0a8:101::1", "inside an IPv6 address"),  # 6to4 of 192.168.1.1
    ("2002:a9fe:a9fe::1", "inside an IPv6 address"),  # 6to4 of the metadata address
    ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
    ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
    ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
    ("64:ff9b:1::a00:1", "NAT64"),  # local-use NAT64 prefix
    ("fc00::1", "private"),
    ("fdff:ffff:ffff::1", "private"),
    ("fe80::1", "link-local"),
    ("febf:ffff::1", "link-local"),
]


def literal_url(address: str, port: int = 8080, path: str = "/") -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}{path}"


@pytest.mark.parametrize(("address", "why"), PRIVATE)
async def test_a_name_resolving_to_a_private_address_is_never_dialled(address: str, why: str) -> None:
    resolver = TableResolver({"innocent.example": address})
    async with dial_tripwire() as dialled, open_fetcher(DEFAULT, resolver=resolver) as fetcher:
        with pytest.raises(BlockedURLError, match=why) as caught:
            await fetcher.fetch_page("http://innocent.example/page.html")
    assert resolver.asked == ["innocent.example"]
    assert dialled == []
    assert "\n" not in caught.value.user_message


@pytest.mark.parametrize(("address", "why"), PRIVATE)
async def test_a_private_literal_is_refused_before_any_lookup_or_dial(address: str, why: str) -> None:
    resolver = TableResolver({})
    async with dial_tripwire() as dialled, open_fetcher(DEFAULT, resolver=resolver) as fetcher:
        with pytest.raises(BlockedURLError, match=why):
            await fetcher.fetch_page(literal_url(address))
        with pytest.raises(BlockedURLError, match=why):
            async with fetcher.open_stream(literal_url(address, path="/a.mp3")):
                pass
        with pytest.raises(BlockedURLError, match=why):
            await fetcher.fetch_head(literal_url(address, path="/a.mp3"))
    assert resolver.asked == []
    assert dialled == []


NUMERIC_FORMS = [
    ("http://0x7f000001/", "127.0.0.1"),
    ("http://2130706433/", "127.0.0.1"),
    ("http://0177.0.0.1/", "127.0.0.1"),
    ("http://017700000001/", "127.0.0.1"),
    ("http://0x7f.1/", "127.0.0.1"),
    ("http://127.1/", "127.0.0.1"),
    ("http://127.0.0.1./", "127.0.0.1"),
    ("http://%31%32%37.0.0.1/", "127.0.0.1"),
    ("http://0/", "0.0.0.0"),
    ("http://0xA9FEA9FE/latest/meta-data/", "169.254.169.254"),
    ("http://2852039166/", "169.254.169.254"),
    ("http://0300.0250.0.1/", "192.168.0.1"),
    ("http://3232235777/", "192.168.1.1"),
    ("http://0x0a.0x00.0x00.0x01/", "10.0.0.1"),
    ("http://167772161/", "10.0.0.1"),
]


@pytest.mark.parametrize(("url", "address"), NUMERIC_FORMS)
async def test_numeric_ipv4_spellings_are_judged_as_the_address_they_mean(url: str, address: str) -> None:
    with pytest.raises(BlockedURLError, match=rf"refused to fetch .*: {address} is "):
        check_url(url)
    resolver = TableResolver({})
    async with dial_tripwire() as dialled, open_fetcher(DEFAULT, resolver=resolver) as fetcher:
        with pytest.raises(BlockedURLError, match=address):
            await fetcher.fetch_page(url)
    assert resolver.asked == [] and dialled == []


@pytest.mark.parametrize(
    "url", ["http://1.2.3.4.5/", "http://256.0.0.1/", "http://08.0.0.1/", "http://a.0x10/"]
)
def test_a_numeric_host_that_is_no_address_is_refused_not_resolved(url: str) -> None:
    with pytest.raises(BlockedURLError, match="numeric host"):
        check_url(url)


def test_public_numeric_spellings_are_fetched_as_the_dotted_address() -> None:
    """What the guard judged is what gets connected to: the host is rewritten, not left to inet_aton."""
    assert str(check_url("http://134744072:8080/a?b=1")) == "http://8.8.8.8:8080/a?b=1"
    assert check_url("http://0x08.0x08.0x08.0x08/").host == "8.8.8.8"
    assert check_url("http://1.example/").host == "1.example"  # a name, judged at connect time


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "file://localhost/etc/passwd",
        "ftp://ftp.example.org/a.mp3",
        "gopher://example.org:70/_GET%20/",
        "data:text/html,<audio src=x>",
        "data:audio/mpeg;base64,SUQz",
        "jar:http://example.org/a.jar!/",
        "http://user:secret@example.org/a.mp3",
        "http://user@example.org/a.mp3",
        "http://:secret@example.org/a.mp3",
        "http://example.org:22/",
        "http://example.org:25/",
        "http://example.org:6667/x",
        "http://example.org:10080/",
        "https://example.org:0/",
    ],
)
async def test_other_schemes_userinfo_and_bad_ports_never_reach_a_resolver(url: str) -> None:
    resolver = TableResolver({"example.org": "127.0.0.1", "ftp.example.org": "127.0.0.1"})
    async with dial_tripwire() as dialled, open_fetcher(DEFAULT, resolver=resolver) as fetcher:
        with pytest.raises(BlockedURLError) as caught:
            await fetcher.fetch_page(url)
    assert resolver.asked == [] and dialled == []
    assert "\n" not in caught.value.user_message


async def test_localhost_through_the_system_resolver_is_refused_and_never_connected() -> None:
    async with listening("127.0.0.1") as target, open_fetcher(DEFAULT) as fetcher:
        for url in (target.url(host="localhost"), target.url(host="LocalHost"), target.url()):
            with pytest.raises(BlockedURLError, match="loopback"):
                await fetcher.fetch_page(url)
    assert target.connections == 0


@pytest.mark.skipif(not ipv6_loopback_available(), reason="this machine has no IPv6 loopback")
async def test_ipv6_loopback_forms_are_refused_and_never_connected() -> None:
    async with listening("::1") as target, open_fetcher(DEFAULT) as fetcher:
        for host in ("[::1]", "[0:0:0:0:0:0:0:1]", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]"):
            with pytest.raises(BlockedURLError, match="loopback"):
                await fetcher.fetch_page(target.url(host=host))
    assert target.connections == 0


async def test_the_tripwire_itself_sees_allowed_loopback_dials(settings: Settings) -> None:
    """Control: the tripwire records real dials, so ``dialled == []`` above means nothing was dialled."""
    async with listening() as target, dial_tripwire() as dialled, open_fetcher(settings) as fetcher:
        page = await fetcher.fetch_page(target.url("/ok"))
    assert b"secret" in page.body
    assert [tuple(d[:2]) for d in dialled] == [("127.0.0.1", target.port)]
    assert target.connections == 1
