"""Cross-site checks: the Origin / Sec-Fetch-Site policy as a table, and the masked CSRF tokens."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audiofetch.web._csrf import check_csrf, csrf_token_for, new_csrf_secret, normalize_origin, origin_allowed

HOST, SCHEME = "audio.example:8080", "http"
CORS = ("https://app.example", "http://tools.example:9000/")
KEY = b"c" * 32
OTHER_KEY = b"d" * 32

# (Origin, Sec-Fetch-Site, credentials, allowed, why)
POLICY = [
    ("http://audio.example:8080", None, "cookie", True, "same origin, older browser"),
    ("http://AUDIO.example:8080", None, "cookie", True, "host compared case-insensitively"),
    ("http://audio.example:8080", "same-origin", "cookie", True, "same origin, browser vouches"),
    ("https://audio.example", "same-origin", "cookie", True, "TLS proxy in front: browser vouches"),
    ("https://audio.example", None, "cookie", False, "scheme and port differ, nobody vouches"),
    ("http://audio.example:8081", None, "cookie", False, "other port is another origin"),
    ("http://audio.example", None, "cookie", False, "default port 80 is not 8080"),
    ("https://evil.example", "cross-site", "cookie", False, "cross-site form post"),
    ("https://evil.example", None, "cookie", False, "cross-site, older browser"),
    ("https://evil.example", "same-origin", "cookie", True, "browser says same-origin: Origin is its own"),
    ("https://evil.example", "cross-site", "bearer", False, "bearer does not excuse a foreign Origin"),
    ("https://evil.example", "cross-site", "none", False, "anonymous cross-site post (drive-by job)"),
    ("http://sub.audio.example:8080", "same-site", "cookie", False, "sibling subdomain is not trusted"),
    ("https://app.example", "cross-site", "cookie", True, "listed CORS origin"),
    ("https://app.example:443", "cross-site", "cookie", True, "listed CORS origin, explicit port"),
    ("http://tools.example:9000", "cross-site", "cookie", True, "listed CORS origin, slash in setting"),
    ("http://app.example", "cross-site", "cookie", False, "CORS origin with another scheme"),
    ("null", None, "cookie", False, "sandboxed iframe or file:"),
    ("null", None, "bearer", False, "null origin refused even with a bearer"),
    ("chrome-extension://abc", None, "cookie", False, "not an http origin"),
    ("http://audio.example:8080/path", None, "cookie", False, "an Origin never has a path"),
    ("http://user@audio.example:8080", None, "cookie", False, "user info"),
    ("http://audio.example:99999", None, "cookie", False, "bad port"),
    (None, "same-origin", "cookie", True, "same-origin EventSource sends no Origin"),
    (None, "cross-site", "cookie", False, "cross-site navigation without Origin"),
    (None, "same-site", "cookie", False, "same-site without Origin"),
    (None, "none", "cookie", False, "typed in the address bar: not for unsafe requests"),
    (None, "cross-site", "bearer", False, "a browser told us it is cross-site"),
    (None, None, "bearer", True, "curl with a bearer token"),
    (None, None, "none", True, "curl logging in or starting a job anonymously"),
    (None, None, "cookie", False, "cookie-only request without Origin (old browser form post)"),
    ("", "", "cookie", False, "empty headers count as absent"),
    ("", "", "none", True, "empty headers count as absent"),
]


@pytest.mark.parametrize(
    ("origin", "site", "credentials", "allowed", "why"), POLICY, ids=[r[4] for r in POLICY]
)
def test_origin_policy(
    origin: str | None, site: str | None, credentials: str, allowed: bool, why: str
) -> None:
    assert origin_allowed(origin, site, HOST, SCHEME, CORS, credentials=credentials) is allowed  # type: ignore[arg-type]


def test_origin_policy_with_ipv6_host_and_default_ports() -> None:
    assert origin_allowed("http://[::1]:8080", None, "[::1]:8080", "http")
    assert origin_allowed("https://example.org", None, "example.org", "https")
    assert origin_allowed("https://example.org:443", None, "example.org", "https")
    assert not origin_allowed("http://example.org", None, "example.org", "https")


def test_missing_or_odd_host_refuses_unvouched_origins() -> None:
    assert not origin_allowed("http://audio.example", None, None, "http")
    assert not origin_allowed("http://audio.example", None, "", "http")
    assert not origin_allowed("http://evil.example", None, "evil.example@audio.example", "http")
    assert not origin_allowed("http://audio.example", None, "audio.example/x", "http")


def test_star_in_cors_origins_is_not_a_wildcard() -> None:
    assert not origin_allowed("https://evil.example", "cross-site", HOST, SCHEME, ["*"])


def test_default_credentials_are_the_strict_cookie_case() -> None:
    assert not origin_allowed(None, None, HOST, SCHEME)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("HTTPS://Example.COM", "https://example.com:443"),
        ("https://example.com:443/", "https://example.com:443"),
        ("http://example.com:80", "http://example.com:80"),
        ("wss://example.com", "https://example.com:443"),
        ("http://[2001:DB8::1]:81", "http://[2001:db8::1]:81"),
        ("https://example.com/a", None),
        ("https://example.com?q", None),
        ("ftp://example.com", None),
        ("example.com", None),
        ("null", None),
        ("", None),
        ("http://:80", None),
    ],
)
def test_normalize_origin(text: str, expected: str | None) -> None:
    assert normalize_origin(text) == expected


def test_csrf_token_verifies_for_its_session_only() -> None:
    secret = new_csrf_secret()
    token = csrf_token_for(KEY, secret)
    assert check_csrf(KEY, secret, token)
    assert check_csrf(KEY, secret, f" {token}\n"), "surrounding whitespace from a form field is tolerated"
    assert not check_csrf(KEY, new_csrf_secret(), token)
    assert not check_csrf(OTHER_KEY, secret, token)
    assert not check_csrf(KEY, None, token)
    assert not check_csrf(KEY, "", token)


def test_csrf_tokens_are_masked_fresh_each_time_and_hide_the_secret() -> None:
    secret = new_csrf_secret()
    tokens = {csrf_token_for(KEY, secret) for _ in range(20)}
    assert len(tokens) == 20
    assert all(check_csrf(KEY, secret, token) for token in tokens)
    assert all(secret not in token for token in tokens)
    assert all(token.replace("-", "").replace("_", "").isalnum() for token in tokens)


def test_tampered_csrf_token_is_refused() -> None:
    secret = new_csrf_secret()
    raw = bytearray(base64.urlsafe_b64decode(csrf_token_for(KEY, secret) + "=="))
    for index in (0, 40, 63):
        edited = bytearray(raw)
        edited[index] ^= 1
        assert not check_csrf(KEY, secret, base64.urlsafe_b64encode(bytes(edited)).rstrip(b"=").decode())


@pytest.mark.parametrize("presented", [None, "", "x", "é" * 86, "=" * 86, "A" * 85, 17, b"bytes"])
def test_malformed_csrf_tokens_are_refused(presented: object) -> None:
    assert not check_csrf(KEY, "session secret", presented)


@settings(database=None, deadline=None, max_examples=200)
@given(st.text(max_size=200), st.one_of(st.none(), st.text(max_size=100)))
def test_check_csrf_never_raises(presented: str, secret: str | None) -> None:
    assert check_csrf(KEY, secret, presented) in (True, False)
