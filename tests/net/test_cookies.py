"""A job's cookies: matched per request as a browser would, sent per hop, never shown."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from audiofetch.config import Settings
from audiofetch.net import JobCookie, JobCookies, open_fetcher
from tests.conftest import LOOPBACK_ONLY

SECRET = "s3cr3t-value"


def cookies() -> JobCookies:
    return JobCookies(
        [
            JobCookie("host", "h", "media.example"),
            JobCookie("site", "d", "example", host_only=False),
            JobCookie("deep", "p", "media.example", path="/private"),
            JobCookie("tls", "t", "media.example", secure=True),
            JobCookie("ip", "i", "127.0.0.1", host_only=False),
        ]
    )


def test_cookies_match_like_a_browser() -> None:
    jar = cookies()
    assert jar.header_for("http://media.example/a.mp3") == "host=h; site=d"
    assert jar.header_for("https://media.example/private/a.mp3") == "deep=p; host=h; site=d; tls=t"
    assert jar.header_for("http://media.example/privateer/a.mp3") == "host=h; site=d"  # path boundary
    assert jar.header_for("http://cdn.example/a.mp3") == "site=d"  # domain cookie, subdomain
    assert jar.header_for("http://sub.media.example/a.mp3") == "site=d"  # host-only stays on its host
    assert jar.header_for("http://notexample/a.mp3") is None  # suffix without a dot is another site
    assert jar.header_for("http://1.127.0.0.1/a.mp3") is None
    assert jar.header_for("http://127.0.0.1:8000/a.mp3") == "ip=i"  # cookies ignore the port


def test_only_for_keeps_the_cookies_some_track_would_carry() -> None:
    kept = cookies().only_for(["http://cdn.example/x.mp3", "http://127.0.0.1/y.mp3"])
    assert sorted(kept.domains) == ["127.0.0.1", "example"]
    assert cookies().only_for([]).header_for("http://media.example/") is None


def test_values_never_show_in_repr() -> None:
    jar = JobCookies([JobCookie("session", SECRET, "example")])
    assert SECRET not in repr(jar) and SECRET not in str(jar)
    assert SECRET not in repr(JobCookie("session", SECRET, "example"))


async def test_the_cookie_header_is_chosen_again_at_each_redirect_hop(
    aiohttp_server: Any, map_resolver: Any
) -> None:
    seen: list[tuple[str, str | None]] = []

    async def start(request: web.Request) -> web.Response:
        seen.append((request.host, request.headers.get("Cookie")))
        raise web.HTTPFound(f"http://other.test:{request.url.port}/end.mp3")

    async def end(request: web.Request) -> web.Response:
        seen.append((request.host, request.headers.get("Cookie")))
        return web.Response(body=b"ID3" + b"\0" * 100, content_type="audio/mpeg")

    app = web.Application()
    app.router.add_get("/start.mp3", start)
    app.router.add_get("/end.mp3", end)
    server = await aiohttp_server(app, host="127.0.0.1")
    resolver = map_resolver({"site.test": "127.0.0.1", "other.test": "127.0.0.1"})
    jar = JobCookies([JobCookie("session", SECRET, "site.test")])
    async with open_fetcher(Settings(allow_networks=LOOPBACK_ONLY), resolver=resolver) as fetcher:
        job = fetcher.with_cookies(jar)
        async with job.open_stream(f"http://site.test:{server.port}/start.mp3") as stream:
            assert [piece async for piece in stream.chunks()]
        await fetcher.fetch_page(f"http://site.test:{server.port}/start.mp3", max_bytes=1000)
    port = server.port
    assert seen == [
        (f"site.test:{port}", f"session={SECRET}"),
        (f"other.test:{port}", None),  # the redirect target is another site: no cookie
        (f"site.test:{port}", None),  # the shared fetcher never had the job's cookies
        (f"other.test:{port}", None),
    ]
    assert fetcher.with_cookies(None) is fetcher and fetcher.with_cookies(JobCookies()) is fetcher
