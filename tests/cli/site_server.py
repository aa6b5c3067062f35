"""The CLI tests' view of the kit's site, served from a thread so a CLI child process can fetch from it.

The CLI runs in its own process and event loop; the tests stay synchronous (``start()``/``stop()``).
``seen`` lists ``(path, Range header)`` for every request, in arrival order.
"""

from __future__ import annotations

from tests.kit.site import MAGIC, MediaSite, album_page, payload, sha256

__all__ = ["MAGIC", "Site", "album_page", "payload", "sha256"]


class Site(MediaSite):
    """Pages and files by path; every file is sent as ``audio/mpeg`` unless told otherwise."""

    def file(
        self, path: str, body: bytes, *, content_type: str | None = "audio/mpeg", behaviour: str = "ok"
    ) -> str:
        return super().file(path, body, content_type=content_type, behaviour=behaviour)

    @property
    def seen(self) -> list[tuple[str, str | None]]:
        return [(seen.path, seen.range) for seen in list(self.requests)]
