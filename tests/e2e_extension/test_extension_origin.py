"""The server side of the hand-off: an extension's Origin passes the cross-site check only when listed."""

from __future__ import annotations

import pytest

from audiofetch.web._csrf import normalize_origin, origin_allowed

CHROME = "chrome-extension://nicfbjnacidloaahjehhhkgoeiepdolg"
FIREFOX = "moz-extension://0f4e6b2c-9a1d-4c3e-8b7a-5d2f1e0c9b8a"
HOST, SCHEME = "127.0.0.1:8080", "http"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (CHROME, CHROME),
        (CHROME.upper().replace("CHROME-EXTENSION", "chrome-extension") + "/", CHROME),
        (FIREFOX, FIREFOX),
        (" " + FIREFOX.upper() + " ", FIREFOX),
        ("chrome-extension://abc", None),  # a Chromium id is 32 letters
        ("chrome-extension://nicfbjnacidloaahjehhhkgoeiepdolz", None),  # only a-p
        (CHROME + "/background.js", None),
        ("moz-extension://not-a-uuid", None),
        ("safari-web-extension://" + FIREFOX.split("//")[1], None),
    ],
)
def test_extension_origins_normalize_or_are_refused(text: str, expected: str | None) -> None:
    assert normalize_origin(text) == expected


@pytest.mark.parametrize("credentials", ["cookie", "bearer", "none"])
@pytest.mark.parametrize("site", ["none", "cross-site", None])
def test_listed_extension_is_allowed_unlisted_refused(credentials: str, site: str | None) -> None:
    listed = (f"{CHROME}/", "https://app.example")
    assert origin_allowed(CHROME, site, HOST, SCHEME, listed, credentials=credentials)  # type: ignore[arg-type]
    assert not origin_allowed(FIREFOX, site, HOST, SCHEME, listed, credentials=credentials)  # type: ignore[arg-type]
    assert not origin_allowed(CHROME, site, HOST, SCHEME, ("https://app.example",), credentials=credentials)  # type: ignore[arg-type]
    assert origin_allowed(FIREFOX, site, HOST, SCHEME, (FIREFOX.upper(),), credentials=credentials)  # type: ignore[arg-type]
